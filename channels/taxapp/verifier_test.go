package taxapp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/lianban/lianban/channels/taxapp"
	"github.com/lianban/lianban/channels/taxapp/taxappfake"
	"github.com/lianban/lianban/models"
)

var start = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

type rig struct {
	fake  *taxappfake.Server
	clock *models.ManualClock
	v     *taxapp.Verifier
}

func newRig(t *testing.T, alg jose.SignatureAlgorithm) *rig {
	t.Helper()
	clock := models.NewManualClock(start)
	fake, err := taxappfake.New(taxappfake.Options{Clock: clock, Alg: alg})
	if err != nil {
		t.Fatal(err)
	}
	fake.Start()
	t.Cleanup(fake.Close)
	v, err := taxapp.New(taxapp.Config{JWKSURL: fake.JWKSURL(), Issuer: fake.Issuer(), Audience: fake.Audience()}, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{fake: fake, clock: clock, v: v}
}

func (r *rig) mint(t *testing.T, c taxappfake.Claims) string {
	t.Helper()
	tok, err := r.fake.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	r, ok := models.AsLoginRefusal(err)
	if !ok || r.Reason != reason {
		t.Fatalf("want refusal %q, got %v", reason, err)
	}
	if e, ok := models.AsError(err); !ok || e.Code != "LOGIN_FAILED" || e.Kind != models.KindUnauthenticated {
		t.Fatalf("refusal is not LOGIN_FAILED: %v", err)
	}
}

func TestLoginReadsSubjectAndRealName(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
		t.Run(string(alg), func(t *testing.T) {
			r := newRig(t, alg)
			id, err := r.v.Login(context.Background(), r.mint(t, taxappfake.Claims{Subject: "app-1", Name: "张三明", IDNumber: "150102199003071234"}))
			if err != nil {
				t.Fatal(err)
			}
			if id.Channel != models.ChannelTaxApp || id.Subject != "app-1" || id.RealName == nil ||
				id.RealName.Name != "张三明" || id.RealName.IDNumber != "150102199003071234" {
				t.Fatalf("identity %+v %+v", id, id.RealName)
			}
			id, err = r.v.Login(context.Background(), r.mint(t, taxappfake.Claims{Subject: "app-2"}))
			if err != nil || id.RealName != nil {
				t.Fatalf("no real name: %+v %v", id, err)
			}
			_, err = r.v.Login(context.Background(), r.mint(t, taxappfake.Claims{Subject: "app-3", Name: "张三明"}))
			wantRefused(t, err, models.LoginReasonClaims)
		})
	}
}

func TestBadTokensAreRefused(t *testing.T) {
	r := newRig(t, jose.RS256)
	ctx := context.Background()
	kid := r.fake.CurrentKID()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged, err := taxappfake.SignWith(jose.RS256, kid, other, r.fake.Payload(taxappfake.Claims{Subject: "a"}))
	if err != nil {
		t.Fatal(err)
	}
	// HS256 keyed with the published public key: the classic confusion.
	var set jose.JSONWebKeySet
	pub := fetchJWKS(t, r.fake.JWKSURL(), &set)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	hs, err := taxappfake.SignWith(jose.HS256, kid, der, r.fake.Payload(taxappfake.Claims{Subject: "a"}))
	if err != nil {
		t.Fatal(err)
	}
	none := unsigned(t, kid, r.fake.Payload(taxappfake.Claims{Subject: "a"}))
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	esOnRSAKid, _ := taxappfake.SignWith(jose.ES256, kid, ecKey, r.fake.Payload(taxappfake.Claims{Subject: "a"}))
	cases := []struct {
		name, token, reason string
	}{
		{"forged signature", forged, models.LoginReasonSignature},
		{"alg none", none, models.LoginReasonAlgorithm},
		{"HS256 with the public key", hs, models.LoginReasonAlgorithm},
		{"ES256 under an RSA kid", esOnRSAKid, models.LoginReasonAlgorithm},
		{"expired", r.mint(t, taxappfake.Claims{Subject: "a", IssuedAt: start.Add(-10 * time.Minute), Expiry: start.Add(-61 * time.Second)}), models.LoginReasonExpired},
		{"not yet valid", r.mint(t, taxappfake.Claims{Subject: "a", NotBefore: start.Add(2 * time.Minute)}), models.LoginReasonNotYetValid},
		{"issued in the future", r.mint(t, taxappfake.Claims{Subject: "a", IssuedAt: start.Add(2 * time.Minute), Expiry: start.Add(5 * time.Minute)}), models.LoginReasonNotYetValid},
		{"wrong issuer", r.mint(t, taxappfake.Claims{Subject: "a", Issuer: "https://evil.invalid"}), models.LoginReasonIssuer},
		{"wrong audience", r.mint(t, taxappfake.Claims{Subject: "a", Audience: "another-app"}), models.LoginReasonAudience},
		{"no subject", r.mint(t, taxappfake.Claims{}), models.LoginReasonMalformed},
		{"garbage", "not.a.jwt", models.LoginReasonMalformed},
		{"empty", "", models.LoginReasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.v.Login(ctx, tc.token)
			wantRefused(t, err, tc.reason)
		})
	}
	// Within the leeway both ways is fine.
	if _, err := r.v.Login(ctx, r.mint(t, taxappfake.Claims{Subject: "a", IssuedAt: start.Add(-10 * time.Minute), Expiry: start.Add(-20 * time.Second)})); err != nil {
		t.Fatalf("expired 20 s ago, inside the leeway: %v", err)
	}
}

func fetchJWKS(t *testing.T, url string, set *jose.JSONWebKeySet) any {
	t.Helper()
	resp, err := (&httpGetter{}).get(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp, set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v", err)
	}
	return set.Keys[0].Key
}

func unsigned(t *testing.T, kid string, claims any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "none", "kid": kid, "typ": "JWT"})
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func TestRotationIsPickedUpAndRetiredKeysStopWorking(t *testing.T) {
	r := newRig(t, jose.RS256)
	ctx := context.Background()
	oldKid := r.fake.CurrentKID()
	oldTok := r.mint(t, taxappfake.Claims{Subject: "a", Expiry: start.Add(time.Hour)})
	if _, err := r.v.Login(ctx, oldTok); err != nil {
		t.Fatal(err)
	}
	if n := r.fake.JWKSCalls(); n != 1 {
		t.Fatalf("first login fetched %d times", n)
	}
	// The service rotates: a new key signs, the old one is retired at
	// once. A token under the new kid makes the verifier refetch.
	newKid, err := r.fake.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	r.fake.Retire(oldKid)
	r.clock.Advance(taxapp.DefaultRefetchFloor)
	if _, err := r.v.Login(ctx, r.mint(t, taxappfake.Claims{Subject: "a", KID: newKid})); err != nil {
		t.Fatalf("new kid after rotation: %v", err)
	}
	if n := r.fake.JWKSCalls(); n != 2 {
		t.Fatalf("rotation fetched %d times in all", n)
	}
	// The refetched set no longer has the old key: its tokens are
	// refused, and asking again does not refetch within the floor.
	for i := 0; i < 20; i++ {
		_, err := r.v.Login(ctx, oldTok)
		wantRefused(t, err, models.LoginReasonUnknownKey)
	}
	if n := r.fake.JWKSCalls(); n != 2 {
		t.Fatalf("unknown kids within the floor fetched %d times in all", n)
	}
	// After the floor, one refetch; the old key is still gone.
	r.clock.Advance(taxapp.DefaultRefetchFloor)
	_, err = r.v.Login(ctx, oldTok)
	wantRefused(t, err, models.LoginReasonUnknownKey)
	if n := r.fake.JWKSCalls(); n != 3 {
		t.Fatalf("after the floor: %d fetches", n)
	}
}

func TestBogusKidFloodFetchesOncePerFloor(t *testing.T) {
	r := newRig(t, jose.RS256)
	ctx := context.Background()
	if _, err := r.v.Login(ctx, r.mint(t, taxappfake.Claims{Subject: "a"})); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(taxapp.DefaultRefetchFloor)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	done := make(chan error, 50)
	for i := 0; i < 50; i++ {
		go func(i int) {
			tok, _ := taxappfake.SignWith(jose.RS256, "bogus-"+string(rune('a'+i%26)), other, r.fake.Payload(taxappfake.Claims{Subject: "a"}))
			_, err := r.v.Login(ctx, tok)
			done <- err
		}(i)
	}
	for i := 0; i < 50; i++ {
		wantRefused(t, <-done, models.LoginReasonUnknownKey)
	}
	if n := r.fake.JWKSCalls(); n != 2 {
		t.Fatalf("50 bogus kids cost %d fetches in all, want 2", n)
	}
}

func TestStaleKeysServeWhileTheJWKSHostIsDown(t *testing.T) {
	r := newRig(t, jose.ES256)
	ctx := context.Background()
	tok := r.mint(t, taxappfake.Claims{Subject: "a", Expiry: start.Add(3 * time.Hour)})
	if _, err := r.v.Login(ctx, tok); err != nil {
		t.Fatal(err)
	}
	r.fake.Close()
	r.clock.Advance(2 * time.Hour) // past MaxAge: a refetch is due and fails
	if _, err := r.v.Login(ctx, tok); err != nil {
		t.Fatalf("stale key while the host is down: %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	unknown, _ := taxappfake.SignWith(jose.ES256, "new-kid", other, r.fake.Payload(taxappfake.Claims{Subject: "a"}))
	r.clock.Advance(time.Minute)
	if _, err := r.v.Login(ctx, unknown); !isUnavailable(err) {
		t.Fatalf("unknown kid while the host is down: %v", err)
	}
}

func isUnavailable(err error) bool {
	e, ok := models.AsError(err)
	return ok && e.Code == models.ErrUnavailable.Code
}

func TestConfigIsChecked(t *testing.T) {
	if _, err := taxapp.New(taxapp.Config{JWKSURL: "http://x"}, nil, nil); err == nil {
		t.Fatal("partial config accepted")
	}
	if _, err := taxapp.New(taxapp.Config{JWKSURL: "http://x", Issuer: "i", Audience: "a", Leeway: 5 * time.Minute}, nil, nil); err == nil {
		t.Fatal("5 minutes of leeway accepted")
	}
}

// A caller who hangs up while the key set is being fetched must not
// decide the fetch's outcome: otherwise one aborted request every
// RefetchFloor (before the first fetch, or after a key rotation) keeps
// every login with the new key at "unavailable".
func TestAbortedRequestDoesNotPoisonTheKeySetFetch(t *testing.T) {
	r := newRig(t, jose.RS256)
	tok := r.mint(t, taxappfake.Claims{Subject: "app-1"})
	gone, cancel := context.WithCancel(context.Background())
	cancel() // the stranger has already hung up
	_, _ = r.v.Login(gone, r.mint(t, taxappfake.Claims{Subject: "stranger"}))
	if _, err := r.v.Login(context.Background(), tok); err != nil {
		t.Fatalf("a login right after an aborted one: %v", err)
	}
}
