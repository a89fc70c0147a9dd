package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/certificate"
	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/guomi"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

func b64(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func TestPIIKeysAreReadFromTheSingleKeyAndTheKeyring(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		ids     string
		wantErr string
	}{
		{"the single key of before", Config{PIIKey: b64(1)}, "0", ""},
		{"the single key then the keyring", Config{PIIKey: b64(1), PIIKeys: "k2:" + b64(2) + ", k3:" + b64(3)}, "0,k2,k3", ""},
		{"the keyring alone", Config{PIIKeys: "k2:" + b64(2)}, "k2", ""},
		{"the single key repeated in the keyring", Config{PIIKey: b64(1), PIIKeys: "0:" + b64(1) + ",k2:" + b64(2)}, "0,k2", ""},
		{"the single key's id with another key", Config{PIIKey: b64(1), PIIKeys: "0:" + b64(9)}, "", "not its key"},
		{"no key", Config{}, "", "LIANBAN_PII_KEYS"},
		{"no id", Config{PIIKeys: b64(2)}, "", "id:base64"},
		{"a short key", Config{PIIKeys: "k2:" + base64.StdEncoding.EncodeToString([]byte("short"))}, "", "id:base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := piiKeys(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error about %q, got %v", tc.wantErr, err)
				}
				return
			}
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.ID)
			}
			if err != nil || strings.Join(ids, ",") != tc.ids {
				t.Fatalf("ids %v, %v", ids, err)
			}
		})
	}
	if _, err := (Config{Crypto: "gm"}).sm(); err == nil {
		t.Fatal("an unknown LIANBAN_CRYPTO was accepted")
	}
}

// A deployment moves to the 国密 option and back: each step reads what
// the others wrote, and lianban rekey moves the old rows over.
func TestMovingToTheGuomiOptionAndBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := map[string]string{"LIANBAN_DATABASE": "sqlite://" + dir + "/x.db", "LIANBAN_DATA_DIR": dir, "LIANBAN_LOG_LEVEL": "error",
		"LIANBAN_SANDBOX": "false", "LIANBAN_PII_KEY": b64(1)}
	config := func() Config {
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	db, err := store.Open(ctx, env["LIANBAN_DATABASE"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	insert := func(pii *models.PIICipher, id, number string) {
		t.Helper()
		sealed, _ := pii.Seal(number)
		row := store.PersonRow{ID: id, IDIndex: pii.BlindIndex("id_number", number), IDSealed: sealed, NameSealed: sealed, CreatedAt: time.Now()}
		if err := db.Gorm.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
	}
	findAll := func(pii *models.PIICipher, when string) {
		t.Helper()
		for id, number := range map[string]string{"p1": "150102199003071237", "p2": "150102196205122222"} {
			var row store.PersonRow
			if err := db.Gorm.Where("id_index IN ?", pii.BlindIndexes("id_number", number)).Take(&row).Error; err != nil || row.ID != id {
				t.Fatalf("%s: %s not found: %v", when, id, err)
			}
			if got, err := pii.Open(row.IDSealed); err != nil || got != number {
				t.Fatalf("%s: %s does not open: %v", when, id, err)
			}
		}
	}

	intl, err := openPII(ctx, config(), db)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := models.NewPIICipher(bytes.Repeat([]byte{1}, 32))
	if intl.Current() != "aes.0" || intl.BlindIndex("id_number", "x") != before.BlindIndex("id_number", "x") {
		t.Fatalf("the default does not write with the single AES key of before: %s", intl.Current())
	}
	// It reads SM4 too, before any instance writes it: one more index
	// per key for lookups.
	if len(intl.BlindIndexes("id_number", "x")) != 2 {
		t.Fatalf("intl looks up %d indexes, want AES's and SM3's", len(intl.BlindIndexes("id_number", "x")))
	}
	insert(intl, "p1", "150102199003071237")

	env["LIANBAN_CRYPTO"], env["LIANBAN_PII_KEYS"] = "sm", "k2:"+b64(2)
	sm, err := openPII(ctx, config(), db)
	if err != nil {
		t.Fatal(err)
	}
	insert(sm, "p2", "150102196205122222")
	findAll(sm, "under sm")

	// Back on the default suite before any rekey: the SM4 row still
	// opens and is found, because every instance reads SM4.
	env["LIANBAN_CRYPTO"] = "intl"
	findAll(mustOpenPII(t, config(), db), "back on intl")

	// lianban rekey under sm moves p1; the old key can then go.
	env["LIANBAN_CRYPTO"] = "sm"
	var out bytes.Buffer
	if err := run(ctx, []string{"rekey", "-batch", "1"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "rekey to sm4.k2:") || !regexp.MustCompile(`persons\s+scanned 2, rekeyed 1`).MatchString(out.String()) {
		t.Fatalf("rekey said:\n%s", out.String())
	}
	delete(env, "LIANBAN_PII_KEY")
	findAll(mustOpenPII(t, config(), db), "sm with k2 alone")
}

// LIANBAN_PII_WRITE_KEY names the key that writes, so a new key reaches
// every instance before any of them writes with it; an id not in the
// keyring stops start-up.
func TestThePIIWritingKeyIsConfigured(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+t.TempDir()+"/x.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		write, crypto, current, wantErr string
	}{
		{"", cryptoIntl, "aes.k2", ""},
		{"k1", cryptoIntl, "aes.k1", ""},
		{" k2 ", cryptoIntl, "aes.k2", ""},
		{"k1", cryptoSM, "sm4.k1", ""},
		{"0", cryptoIntl, "", "LIANBAN_PII_WRITE_KEY"},
		{"k9", cryptoSM, "", "not in the keyring"},
	} {
		cfg := Config{PIIKeys: "k1:" + b64(1) + ",k2:" + b64(2), PIIWriteKey: tc.write, Crypto: tc.crypto}
		pii, err := openPII(ctx, cfg, db)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: want an error about %q, got %v", tc.write, tc.wantErr, err)
			}
			continue
		}
		if err != nil || pii.Current() != tc.current {
			t.Errorf("%q under %s: %v %v, want %s", tc.write, tc.crypto, pii, err, tc.current)
		}
	}
	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{"LIANBAN_PII_WRITE_KEY": "k1"}[k]
	})
	if err != nil || cfg.PIIWriteKey != "k1" {
		t.Fatalf("LIANBAN_PII_WRITE_KEY is not read: %q %v", cfg.PIIWriteKey, err)
	}
}

func mustOpenPII(t *testing.T, cfg Config, db *store.DB) *models.PIICipher {
	t.Helper()
	pii, err := openPII(context.Background(), cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	return pii
}

func TestCertificatesAreSignedWithSM2UnderTheOptionAndBothVerifyEitherWay(t *testing.T) {
	base := Config{Sandbox: false, CertSigningKey: b64(1), CertSigningKeys: b64(2), Crypto: cryptoIntl}
	intl, seed, err := certSigner(base)
	if err != nil {
		t.Fatal(err)
	}
	if intl.Algorithm() != certificate.AlgorithmEd25519 || !bytes.Equal(seed, bytes.Repeat([]byte{2}, 32)) {
		t.Fatalf("intl signs with %s", intl.Algorithm())
	}
	base.Crypto = cryptoSM
	sm, _, err := certSigner(base)
	if err != nil {
		t.Fatal(err)
	}
	if sm.Algorithm() != guomi.AlgorithmSM2 {
		t.Fatalf("sm signs with %s", sm.Algorithm())
	}
	msg := []byte("canonical")
	edSig, _ := intl.Sign(msg)
	smSig, _ := sm.Sign(msg)
	// Signed under one setting, verified under the other.
	if !certificate.VerifyStored(sm, intl.Algorithm(), intl.KeyID(), msg, edSig) ||
		!certificate.VerifyStored(intl, sm.Algorithm(), sm.KeyID(), msg, smSig) {
		t.Fatal("a certificate signed before the switch does not verify after it")
	}
	// The older key still verifies what it signed.
	old, _, _ := certSigner(Config{CertSigningKey: b64(1), Crypto: cryptoIntl})
	oldSig, _ := old.Sign(msg)
	if !certificate.VerifyStored(sm, old.Algorithm(), old.KeyID(), msg, oldSig) {
		t.Fatal("the rotated-out key's certificate does not verify")
	}
}

// The real program under LIANBAN_CRYPTO=sm: a person binds (SM4 row), and
// the sandbox bank finds them with a request signed with HMAC-SM3.
func TestTheServerRunsUnderTheGuomiOption(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	env := map[string]string{"LIANBAN_ADDR": addr, "LIANBAN_DATABASE": "sqlite://" + dir + "/lianban.db", "LIANBAN_DATA_DIR": dir,
		"LIANBAN_WECHATPAY_APIV3_KEY": "", "LIANBAN_CRYPTO": "sm", "LIANBAN_PII_KEYS": "k2:" + b64(2), "LIANBAN_LOG_LEVEL": "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, logs) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v\n%s", err, logs)
		}
	}
	post := func(path, token string, body any, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	var login struct{ Token string }
	if st := post("/api/v1/sessions/sandbox", "", map[string]string{"subject": "sm-user"}, &login); st != 201 {
		t.Fatalf("login %d", st)
	}
	me := map[string]string{"name": "张三明", "id_number": models.MakeIDNumber("150102", time.Date(1990, 3, 7, 0, 0, 0, 0, time.UTC), 123)}
	if st := post("/api/v1/me/identity", login.Token, me, nil); st != 200 {
		t.Fatalf("identity %d", st)
	}
	bank := &partner.Client{BaseURL: base, PartnerID: "sandbox-bank", Key: []byte("sandbox-partner-key"), Method: partner.MethodHMACSM3}
	body, _ := json.Marshal(me)
	r, err := bank.Do(ctx, "POST", "/partner/v1/payables/query", body)
	if err != nil || r.Status == 401 {
		t.Fatalf("HMAC-SM3 counter request: %v %d %s", err, r.Status, r.Body)
	}
	db, err := store.Open(ctx, env["LIANBAN_DATABASE"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var row store.PersonRow
	if err := db.Gorm.Take(&row).Error; err != nil || !strings.HasPrefix(row.NameSealed, "v2.sm4.k2:") {
		t.Fatalf("person row %q %v", row.NameSealed, err)
	}
}
