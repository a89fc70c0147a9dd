package taxapp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/lianban/lianban/models"
)

// Config is the tax APP identity service as the server sees it.
type Config struct {
	JWKSURL  string
	Issuer   string
	Audience string
	// Leeway absorbs clock skew on exp, nbf and iat (default 30 s; at
	// most 60 s).
	Leeway time.Duration
	// RefetchFloor is the least time between two JWKS fetches (default
	// 30 s): a flood of tokens with made-up kids costs the JWKS host one
	// request per floor, not one per token.
	RefetchFloor time.Duration
	// MaxAge is how long a fetched key set is used before it is fetched
	// again on the next login (default 1 h), so a key the service removed
	// stops working within MaxAge even when no new kid shows up.
	MaxAge time.Duration
}

// Defaults and limits.
const (
	DefaultLeeway       = 30 * time.Second
	MaxLeeway           = 60 * time.Second
	DefaultRefetchFloor = 30 * time.Second
	DefaultMaxAge       = time.Hour
	// staleLimit bounds how long a key set is used while the JWKS host
	// does not answer.
	staleLimit   = 24 * time.Hour
	maxJWKSBytes = 1 << 20
	fetchTimeout = 10 * time.Second
	maxTokenLen  = 16 << 10
)

// allowedAlgs are the only signature algorithms accepted: asymmetric, so
// the public key of the JWKS cannot be used as an HMAC secret, and never
// "none".
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// Validate reports a missing or out-of-range setting.
func (c Config) Validate() error {
	var missing []string
	for k, v := range map[string]string{"LIANBAN_TAXAPP_JWKS_URL": c.JWKSURL, "LIANBAN_TAXAPP_ISSUER": c.Issuer,
		"LIANBAN_TAXAPP_AUDIENCE": c.Audience} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("set %s", strings.Join(missing, ", "))
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		return fmt.Errorf("leeway %s is outside 0..%s", c.Leeway, MaxLeeway)
	}
	return nil
}

// Configured reports whether any key of the channel is set.
func (c Config) Configured() bool { return c.JWKSURL != "" || c.Issuer != "" || c.Audience != "" }

// Verifier checks tax APP tokens. It implements models.LoginChannel and is
// safe for concurrent use.
type Verifier struct {
	cfg   Config
	hc    *http.Client
	clock models.Clock

	fetchMu sync.Mutex // one JWKS fetch at a time

	mu          sync.Mutex // guards the fields below
	keys        map[string]jose.JSONWebKey
	fetchedAt   time.Time // last successful fetch
	attemptedAt time.Time // last fetch, successful or not
	lastErr     error     // of the last fetch
}

var _ models.LoginChannel = (*Verifier)(nil)

// New returns a Verifier. The key set is fetched on the first login, so
// start-up does not depend on the identity service.
func New(cfg Config, hc *http.Client, clock models.Clock) (*Verifier, error) {
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.RefetchFloor <= 0 {
		cfg.RefetchFloor = DefaultRefetchFloor
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	if clock == nil {
		clock = models.SystemClock{}
	}
	return &Verifier{cfg: cfg, hc: hc, clock: clock}, nil
}

// Name implements models.LoginChannel.
func (v *Verifier) Name() string { return models.ChannelTaxApp }

func (v *Verifier) refuse(reason string, err error) error {
	return models.RefuseLogin(models.ChannelTaxApp, reason, err)
}

// realNameClaims are the private claims read besides the registered ones.
type realNameClaims struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// Login implements models.LoginChannel: token is the APP's JWT.
func (v *Verifier) Login(ctx context.Context, token string) (models.ChannelIdentity, error) {
	if len(token) > maxTokenLen || strings.Count(token, ".") != 2 {
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonMalformed, nil)
	}
	// The header is read before go-jose parses the token so that a
	// refused algorithm is told apart from a malformed token; go-jose
	// then enforces the same allow-list.
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	raw, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
	if err != nil || json.Unmarshal(raw, &hdr) != nil {
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonMalformed, err)
	}
	alg := jose.SignatureAlgorithm(hdr.Alg)
	if alg != jose.RS256 && alg != jose.ES256 {
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonAlgorithm, fmt.Errorf("alg %q", hdr.Alg))
	}
	tok, err := jwt.ParseSigned(token, allowedAlgs)
	if err != nil {
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonMalformed, err)
	}
	if hdr.Kid == "" {
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonUnknownKey, errors.New("no kid"))
	}
	key, err := v.key(ctx, hdr.Kid)
	if err != nil {
		return models.ChannelIdentity{}, err
	}
	if !keyFits(key, alg) {
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonAlgorithm, fmt.Errorf("key %s does not sign %s", hdr.Kid, alg))
	}
	var std jwt.Claims
	var rn realNameClaims
	if err := tok.Claims(key.Key, &std, &rn); err != nil {
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonSignature, err)
	}
	if std.Subject == "" || len(std.Subject) > 96 || std.Expiry == nil {
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonMalformed, errors.New("sub or exp missing"))
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: v.cfg.Issuer, AnyAudience: jwt.Audience{v.cfg.Audience},
		Time: v.clock.Now()}, v.cfg.Leeway)
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonIssuer, err)
	case errors.Is(err, jwt.ErrInvalidAudience):
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonAudience, err)
	case errors.Is(err, jwt.ErrExpired):
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonExpired, err)
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonNotYetValid, err)
	case err != nil:
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonMalformed, err)
	}
	// A token logs in once. It is known by its jti, or without one by
	// what its signature covers (header and claims): never by the whole
	// string, since an ECDSA signature verifies with s flipped too.
	once := "jti:" + std.ID
	if std.ID == "" {
		once = "signed:" + token[:strings.LastIndexByte(token, '.')]
	}
	sum := sha256.Sum256([]byte(v.cfg.Issuer + "\x00" + once))
	id := models.ChannelIdentity{Channel: models.ChannelTaxApp, Subject: std.Subject,
		OnceID: hex.EncodeToString(sum[:]), OnceUntil: std.Expiry.Time().Add(v.cfg.Leeway)}
	name, number := strings.TrimSpace(rn.Name), strings.TrimSpace(rn.IDNumber)
	switch {
	case name != "" && number != "":
		id.RealName = &models.RealName{Name: name, IDNumber: number}
	case name != "" || number != "":
		return models.ChannelIdentity{}, v.refuse(models.LoginReasonClaims, errors.New("name without id_number or the reverse"))
	}
	return id, nil
}

// keyFits reports whether key may verify alg: its declared alg (if any)
// and its type must match.
func keyFits(key jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	if key.Algorithm != "" && key.Algorithm != string(alg) {
		return false
	}
	switch k := key.Key.(type) {
	case *rsa.PublicKey:
		return alg == jose.RS256 && k.N.BitLen() >= 2048
	case *ecdsa.PublicKey:
		return alg == jose.ES256 && k.Curve == elliptic.P256()
	}
	return false
}

// key returns the key named kid, fetching the key set when it is unknown
// or the set is older than MaxAge, but never twice within RefetchFloor.
func (v *Verifier) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	if k, ok, fresh := v.cached(kid); ok && fresh {
		return k, nil
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	// Another login may have fetched while this one waited.
	k, ok, fresh := v.cached(kid)
	if ok && fresh {
		return k, nil
	}
	now := v.clock.Now()
	v.mu.Lock()
	attempted, lastErr, fetched := v.attemptedAt, v.lastErr, v.fetchedAt
	v.mu.Unlock()
	if !attempted.IsZero() && now.Sub(attempted) < v.cfg.RefetchFloor {
		switch {
		case ok:
			return k, nil // stale but not refetched yet
		case lastErr != nil:
			return jose.JSONWebKey{}, models.ErrUnavailable.WithReason("tax APP JWKS: " + lastErr.Error())
		}
		return jose.JSONWebKey{}, v.refuse(models.LoginReasonUnknownKey, fmt.Errorf("kid %q (refetch floor)", kid))
	}
	// The fetch serves every login waiting on it, so it is not tied to
	// this caller: one who hangs up would otherwise make it fail, and
	// the floor would keep that failure for everyone.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	keys, err := v.fetch(fctx)
	cancel()
	v.mu.Lock()
	v.attemptedAt, v.lastErr = now, err
	if err == nil {
		v.keys, v.fetchedAt = keys, now
	}
	v.mu.Unlock()
	if err != nil {
		if ok && now.Sub(fetched) < staleLimit {
			return k, nil // the JWKS host is down: keep using what it last said
		}
		return jose.JSONWebKey{}, models.ErrUnavailable.WithReason("tax APP JWKS: " + err.Error())
	}
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return jose.JSONWebKey{}, v.refuse(models.LoginReasonUnknownKey, fmt.Errorf("kid %q", kid))
}

func (v *Verifier) cached(kid string) (jose.JSONWebKey, bool, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	k, ok := v.keys[kid]
	return k, ok, v.clock.Now().Sub(v.fetchedAt) < v.cfg.MaxAge
}

// fetch reads the key set, keeping only public signing keys of the
// allowed algorithms.
func (v *Verifier) fetch(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, errors.New("key set too large")
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue // a key type we do not know is not ours to use
		}
		if k.KeyID == "" || !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if !keyFits(k, jose.RS256) && !keyFits(k, jose.ES256) {
			continue
		}
		keys[k.KeyID] = k
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable signing key in the key set")
	}
	return keys, nil
}
