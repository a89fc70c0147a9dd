// Package taxappfake is a fake of the 税务 APP's identity service for tests
// and the sandbox: it serves its JWKS over HTTP, mints signed JWTs with
// the claims package taxapp reads, and rotates keys (a new key becomes
// current while the old ones stay published until retired).
package taxappfake

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/lianban/lianban/models"
)

// Defaults of the fake's identity.
const (
	DefaultIssuer   = "https://taxapp-id.sandbox.invalid"
	DefaultAudience = "lianban"
	// JWKSPath is where the key set is served.
	JWKSPath = "/.well-known/jwks.json"
	// TokenTTL is how long a minted token is valid.
	TokenTTL = 5 * time.Minute
)

// Options configure a fake.
type Options struct {
	Issuer, Audience string
	Clock            models.Clock
	// Alg is the algorithm of the keys (RS256, the default, or ES256).
	Alg jose.SignatureAlgorithm
}

type key struct {
	kid    string
	signer crypto.Signer
}

// Server is the fake identity service. It is safe for concurrent use.
type Server struct {
	issuer, audience string
	clock            models.Clock
	alg              jose.SignatureAlgorithm

	mu        sync.Mutex
	keys      []key // published; the last is current
	seq       int
	jwksCalls int
	srv       *httptest.Server
}

// New returns a fake with one key.
func New(opts Options) (*Server, error) {
	s := &Server{issuer: opts.Issuer, audience: opts.Audience, clock: opts.Clock, alg: opts.Alg}
	if s.issuer == "" {
		s.issuer = DefaultIssuer
	}
	if s.audience == "" {
		s.audience = DefaultAudience
	}
	if s.clock == nil {
		s.clock = models.SystemClock{}
	}
	if s.alg == "" {
		s.alg = jose.RS256
	}
	if _, err := s.Rotate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Issuer and Audience are what the fake puts in iss and aud.
func (s *Server) Issuer() string   { return s.issuer }
func (s *Server) Audience() string { return s.audience }

// Start serves the fake on a loopback port.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		s.srv = httptest.NewServer(s)
	}
}

// Close stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// JWKSURL is the key set's URL once started.
func (s *Server) JWKSURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ""
	}
	return s.srv.URL + JWKSPath
}

// JWKSCalls counts the key set fetches served.
func (s *Server) JWKSCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksCalls
}

// ServeHTTP serves the key set.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != JWKSPath {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.jwksCalls++
	set := jose.JSONWebKeySet{}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.signer.Public(), KeyID: k.kid, Algorithm: string(s.alg), Use: "sig"})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// Rotate makes a new key current and returns its kid; the older keys
// stay published until Retire.
func (s *Server) Rotate() (string, error) {
	var signer crypto.Signer
	var err error
	if s.alg == jose.ES256 {
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	kid := fmt.Sprintf("taxapp-%d-%d", s.clock.Now().Unix(), s.seq)
	s.keys = append(s.keys, key{kid: kid, signer: signer})
	return kid, nil
}

// Retire stops publishing the key kid.
func (s *Server) Retire(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.keys {
		if k.kid == kid {
			s.keys = append(s.keys[:i], s.keys[i+1:]...)
			return
		}
	}
}

// CurrentKID is the kid new tokens are signed with.
func (s *Server) CurrentKID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1].kid
}

// Claims are a token's contents. Zero Issuer, Audience, IssuedAt and
// Expiry take the fake's defaults (now, now + TokenTTL).
type Claims struct {
	Subject, Name, IDNumber string
	Issuer, Audience        string
	IssuedAt, Expiry        time.Time
	NotBefore               time.Time
	// KID signs with that published key instead of the current one.
	KID string
	// ID is the jti claim: random when empty, as identity services put
	// one in every token; none with NoID.
	ID   string
	NoID bool
}

// Mint signs a token.
func (s *Server) Mint(c Claims) (string, error) {
	s.mu.Lock()
	k := s.keys[len(s.keys)-1]
	if c.KID != "" {
		found := false
		for _, kk := range s.keys {
			if kk.kid == c.KID {
				k, found = kk, true
			}
		}
		if !found {
			s.mu.Unlock()
			return "", errors.New("taxappfake: no such key")
		}
	}
	s.mu.Unlock()
	if c.ID == "" && !c.NoID {
		jti := make([]byte, 16)
		if _, err := rand.Read(jti); err != nil {
			return "", err
		}
		c.ID = hex.EncodeToString(jti)
	}
	return SignWith(s.alg, k.kid, k.signer, s.claims(c))
}

// MintToken mints a token for a person (the sandbox's
// POST /sandbox/taxapp/token): name and idNumber may both be empty.
func (s *Server) MintToken(subject, name, idNumber string) (string, time.Time, error) {
	now := s.clock.Now()
	tok, err := s.Mint(Claims{Subject: subject, Name: name, IDNumber: idNumber, IssuedAt: now, Expiry: now.Add(TokenTTL)})
	return tok, now.Add(TokenTTL).UTC(), err
}

// payload is the claims set of a token.
type payload struct {
	jwt.Claims
	Name     string `json:"name,omitempty"`
	IDNumber string `json:"id_number,omitempty"`
}

func (s *Server) claims(c Claims) payload {
	now := s.clock.Now()
	p := payload{Claims: jwt.Claims{Subject: c.Subject, Issuer: c.Issuer, Audience: jwt.Audience{c.Audience}, ID: c.ID},
		Name: c.Name, IDNumber: c.IDNumber}
	if p.Issuer == "" {
		p.Issuer = s.issuer
	}
	if c.Audience == "" {
		p.Audience = jwt.Audience{s.audience}
	}
	iat, exp := c.IssuedAt, c.Expiry
	if iat.IsZero() {
		iat = now
	}
	if exp.IsZero() {
		exp = now.Add(TokenTTL)
	}
	p.IssuedAt, p.Expiry = jwt.NewNumericDate(iat), jwt.NewNumericDate(exp)
	if !c.NotBefore.IsZero() {
		p.NotBefore = jwt.NewNumericDate(c.NotBefore)
	}
	return p
}

// SignWith signs claims with any key under any kid: tests forge tokens
// with it (a key the service never published, under a published kid).
func SignWith(alg jose.SignatureAlgorithm, kid string, key any, claims any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// Payload returns the claims Mint would sign for c, for tests that sign
// them themselves (SignWith).
func (s *Server) Payload(c Claims) any { return s.claims(c) }
