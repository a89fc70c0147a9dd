package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lianban/lianban/certificate"
	"github.com/lianban/lianban/guomi"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/rekey"
	"github.com/lianban/lianban/store"
)

// The values of LIANBAN_CRYPTO.
const (
	cryptoIntl = "intl" // AES-256-GCM, HMAC-SHA256, Ed25519: the default
	cryptoSM   = "sm"   // 商用密码: SM4-GCM, HMAC-SM3, SM2
)

// sm reports whether the 国密 option is chosen, refusing unknown values.
func (c Config) sm() (bool, error) {
	switch c.Crypto {
	case cryptoIntl:
		return false, nil
	case cryptoSM:
		return true, nil
	}
	return false, fmt.Errorf("LIANBAN_CRYPTO must be %s or %s, not %q", cryptoIntl, cryptoSM, c.Crypto)
}

// piiKeys is the PII keyring's keys, oldest first: LIANBAN_PII_KEY (key
// id "0", the key of the time before the keyring; in sandbox mode
// generated once under the data directory) then LIANBAN_PII_KEYS
// ("id:base64,id:base64", newest last). Outside sandbox mode one of the
// two is required.
func piiKeys(cfg Config) ([]models.PIIKey, error) {
	var keys []models.PIIKey
	if cfg.PIIKey != "" || cfg.Sandbox || cfg.PIIKeys == "" {
		legacy, err := loadPIIKey(cfg)
		if err != nil {
			if cfg.PIIKeys == "" {
				return nil, fmt.Errorf("%w (or LIANBAN_PII_KEYS)", err)
			}
			return nil, err
		}
		keys = append(keys, models.PIIKey{ID: models.LegacyPIIKeyID, Secret: legacy})
	}
	for _, item := range splitList(cfg.PIIKeys) {
		id, b64, ok := strings.Cut(item, ":")
		secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if !ok || err != nil || len(secret) != 32 {
			return nil, fmt.Errorf("LIANBAN_PII_KEYS: want id:base64-of-32-bytes, comma separated, newest last")
		}
		id = strings.TrimSpace(id)
		if id == models.LegacyPIIKeyID && len(keys) > 0 && keys[0].ID == id {
			if !hmac.Equal(keys[0].Secret, secret) {
				return nil, fmt.Errorf("LIANBAN_PII_KEYS: key %q is LIANBAN_PII_KEY's id but not its key", id)
			}
			continue
		}
		keys = append(keys, models.PIIKey{ID: id, Secret: secret})
	}
	return keys, nil
}

// openPII builds the PII keyring. Every instance reads both suites, so
// moving to LIANBAN_CRYPTO=sm (or back) is a rolling restart like any
// other: LIANBAN_CRYPTO only chooses the suite new values are sealed and
// indexed with, and an instance still on intl opens SM4 values and finds
// people by their HMAC-SM3 index (lookups try one more index per key).
// LIANBAN_PII_WRITE_KEY chooses the writing key the same way; see
// README's "国密 option and key rotation".
func openPII(ctx context.Context, cfg Config, db *store.DB) (*models.PIICipher, error) {
	sm, err := cfg.sm()
	if err != nil {
		return nil, err
	}
	keys, err := piiKeys(cfg)
	if err != nil {
		return nil, err
	}
	ring := models.PIIKeyring{Keys: keys, WriteKey: strings.TrimSpace(cfg.PIIWriteKey),
		Suite: models.AESSuite(), Previous: []models.PIISuite{guomi.SM4Suite()}}
	if sm {
		// Releases before every instance read SM4 decided from this note
		// at start-up; it is kept for them, mixed into a rolling upgrade.
		if err := rekey.NoteSuite(ctx, db, guomi.SuiteName, models.SystemClock{}.Now()); err != nil {
			return nil, fmt.Errorf("note the sm4 suite: %w", err)
		}
		ring.Suite, ring.Previous = guomi.SM4Suite(), []models.PIISuite{models.AESSuite()}
	}
	pii, err := models.NewPIIKeyring(ring)
	if err != nil {
		return nil, fmt.Errorf("LIANBAN_PII_KEY(S), LIANBAN_PII_WRITE_KEY: %w", err)
	}
	return pii, nil
}

// certSigner builds the certificate keyring from LIANBAN_CERT_SIGNING_KEY
// and LIANBAN_CERT_SIGNING_KEYS (base64 32-byte seeds, comma separated,
// newest last). Each seed is an Ed25519 key and an SM2 key, so whatever
// signed a stored certificate still verifies after a rotation or a change
// of LIANBAN_CRYPTO; the newest seed signs, with SM2 under the 国密
// option and Ed25519 otherwise. It also returns the newest seed, which
// the verification codes' secret is derived from.
func certSigner(cfg Config) (*certificate.Keyring, []byte, error) {
	sm, err := cfg.sm()
	if err != nil {
		return nil, nil, err
	}
	var seeds [][]byte
	if cfg.CertSigningKey != "" || cfg.Sandbox || cfg.CertSigningKeys == "" {
		seed, err := loadKey(cfg, "LIANBAN_CERT_SIGNING_KEY", cfg.CertSigningKey, "cert.key")
		if err != nil {
			return nil, nil, err
		}
		seeds = append(seeds, seed)
	}
	for _, item := range splitList(cfg.CertSigningKeys) {
		seed, err := base64.StdEncoding.DecodeString(item)
		if err != nil || len(seed) != 32 {
			return nil, nil, fmt.Errorf("LIANBAN_CERT_SIGNING_KEYS: want base64 of 32 bytes each, comma separated, newest last")
		}
		seeds = append(seeds, seed)
	}
	var signers []certificate.Signer
	var newest certificate.Signer
	for _, seed := range seeds {
		keyID := fmt.Sprintf("ed25519-%x", sha256.Sum256(seed))[:16]
		ed, err := certificate.NewEd25519Signer(seed, keyID)
		if err != nil {
			return nil, nil, err
		}
		sm2, err := guomi.NewSM2Signer(seed)
		if err != nil {
			return nil, nil, err
		}
		signers = append(signers, sm2, ed)
		newest = ed
		if sm {
			newest = sm2
		}
	}
	k, err := certificate.NewKeyring(append(signers, newest)...)
	return k, seeds[len(seeds)-1], err
}

// openForCommand opens and migrates the database and the PII keyring for
// a one-off subcommand (rekey, staff-bootstrap); the caller closes db.
func openForCommand(ctx context.Context, cfg Config) (*store.DB, *models.PIICipher, error) {
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	pii, err := openPII(ctx, cfg, db)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return db, pii, nil
}

// rekeyCommand is "lianban rekey [-batch N]": it rewrites personal data
// under the writing PII key and suite, and rebuilds the blind indexes,
// while the service runs (see service/rekey). Run it after every instance
// writes with that key and suite; it resumes where an
// interrupted run stopped, and once it reports every table done the old
// keys may leave LIANBAN_PII_KEY(S).
func rekeyCommand(ctx context.Context, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rekey", flag.ContinueOnError)
	fs.SetOutput(out)
	batch := fs.Int("batch", rekey.DefaultBatch, "rows per batch (each batch is one transaction)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, pii, err := openForCommand(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var deps service.Deps
	if err := wireBlobs(ctx, cfg, &deps); err != nil {
		return err
	}
	r := &rekey.Rekeyer{DB: db, PII: pii, Log: log, Batch: *batch, Blobs: deps.Blobs}
	results, err := r.Run(ctx)
	fmt.Fprintf(out, "rekey to %s:\n%s", pii.Current(), rekey.Summary(results))
	return err
}
