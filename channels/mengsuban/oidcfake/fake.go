// Package oidcfake is an OpenID Connect provider standing in for 蒙速办 in
// tests and the sandbox: discovery, an authorization endpoint that issues
// a code for a chosen demo person (S256 PKCE required), a token endpoint
// that checks the client's secret, the redirect URI, the code_verifier and
// that a code is used once, a JWKS, and userinfo with the real-name claims
// (name, id_number). It serves its paths under the path of its issuer URL,
// so the sandbox router mounts it at /sandbox/oidc of the server itself.
package oidcfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/lianban/lianban/models"
)

// Paths under the issuer.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	AuthorizePath = "/authorize"
	TokenPath     = "/token"
	JWKSPath      = "/jwks"
	UserInfoPath  = "/userinfo"
)

// Routes are the fake's endpoints as method and path under the issuer,
// for a router that mounts it.
func Routes() [][2]string {
	return [][2]string{{http.MethodGet, DiscoveryPath}, {http.MethodGet, AuthorizePath}, {http.MethodPost, TokenPath},
		{http.MethodGet, JWKSPath}, {http.MethodGet, UserInfoPath}}
}

// Person is someone who can sign in at the fake.
type Person struct {
	Subject, Name, IDNumber string
}

// Client is a registered relying party.
type Client struct {
	ID, Secret   string
	RedirectURIs []string
}

// Options configure a fake.
type Options struct {
	Issuer  string // e.g. http://127.0.0.1:8080/sandbox/oidc
	Clients []Client
	People  []Person
	Clock   models.Clock
}

// IDTokenClaims are an ID token's claims; tests change them through
// SetTamper to make a provider misbehave (wrong issuer, nonce, audience).
type IDTokenClaims struct {
	Issuer   string
	Subject  string
	Audience string
	Nonce    string
	IssuedAt time.Time
	Expiry   time.Time
}

type grant struct {
	client, redirectURI, nonce, challenge, subject string
	expires                                        time.Time
}

type access struct {
	subject string
	expires time.Time
}

// MaxPendingCodes bounds the codes issued and not yet redeemed or
// expired: the sandbox serves /authorize to anyone, without a login.
const MaxPendingCodes = 10000

// maxNonce bounds a nonce kept with a code (lianban's are 43 characters).
const maxNonce = 256

const (
	codeTTL   = time.Minute
	accessTTL = 10 * time.Minute
	idTTL     = 5 * time.Minute
)

// Server is the fake provider. It is safe for concurrent use.
type Server struct {
	issuer string
	prefix string // the issuer's path
	clock  models.Clock
	key    *rsa.PrivateKey
	kid    string

	mu      sync.Mutex
	clients map[string]Client
	people  []Person
	codes   map[string]grant
	tokens  map[string]access
	tamper  func(*IDTokenClaims)
}

// New returns a fake provider for opts.Issuer.
func New(opts Options) (*Server, error) {
	u, err := url.Parse(opts.Issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("oidcfake: issuer %q is not an absolute URL", opts.Issuer)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &Server{issuer: strings.TrimSuffix(opts.Issuer, "/"), prefix: strings.TrimSuffix(u.Path, "/"), clock: opts.Clock,
		key: key, kid: "msb-" + randomString(6), clients: map[string]Client{}, people: opts.People,
		codes: map[string]grant{}, tokens: map[string]access{}}
	if s.clock == nil {
		s.clock = models.SystemClock{}
	}
	for _, c := range opts.Clients {
		s.clients[c.ID] = c
	}
	return s, nil
}

// Issuer is the fake's issuer URL.
func (s *Server) Issuer() string { return s.issuer }

// Prefix is the path the fake's routes live under.
func (s *Server) Prefix() string { return s.prefix }

// SetTamper changes every ID token issued from now on (nil: none).
func (s *Server) SetTamper(f func(*IDTokenClaims)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper = f
}

// ServeHTTP serves the provider's endpoints under its prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.Method == http.MethodGet && path == DiscoveryPath:
		s.discovery(w)
	case r.Method == http.MethodGet && path == AuthorizePath:
		s.authorize(w, r)
	case r.Method == http.MethodPost && path == TokenPath:
		s.token(w, r)
	case r.Method == http.MethodGet && path == JWKSPath:
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: "RS256", Use: "sig"}}})
	case r.Method == http.MethodGet && path == UserInfoPath:
		s.userinfo(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) discovery(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer,
		"authorization_endpoint":                s.issuer + AuthorizePath,
		"token_endpoint":                        s.issuer + TokenPath,
		"jwks_uri":                              s.issuer + JWKSPath,
		"userinfo_endpoint":                     s.issuer + UserInfoPath,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "profile"},
		"claims_supported":                      []string{"sub", "name", "id_number"},
	})
}

var pickPage = template.Must(template.New("pick").Parse(`<!doctype html><meta charset="utf-8"><title>蒙速办（沙箱）登录</title>
<h1>蒙速办（沙箱）</h1><p>选择登录的演示人员：</p><ul>{{range .}}<li><a href="{{.URL}}">{{.Name}}</a></li>{{end}}</ul>`))

// authorize issues a code for the person named by login_hint (a subject
// or an ID number); without one it shows the people to choose from.
// Errors about the client or redirect URI are shown, never redirected.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	client, ok := s.clients[q.Get("client_id")]
	s.mu.Unlock()
	redirect := q.Get("redirect_uri")
	if !ok || !slices.Contains(client.RedirectURIs, redirect) {
		http.Error(w, "unknown client or unregistered redirect_uri", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		sep := "?"
		if strings.Contains(redirect, "?") {
			sep = "&"
		}
		http.Redirect(w, r, redirect+sep+v.Encode(), http.StatusFound)
	}
	if q.Get("response_type") != "code" || !slices.Contains(strings.Fields(q.Get("scope")), "openid") {
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	}
	challenge := q.Get("code_challenge")
	if q.Get("code_challenge_method") != "S256" || !validChallenge(challenge) {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"S256 code_challenge required"}})
		return
	}
	if len(q.Get("nonce")) > maxNonce {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"nonce too long"}})
		return
	}
	hint := q.Get("login_hint")
	if hint == "" {
		type item struct{ Name, URL string }
		var items []item
		for _, p := range s.people {
			v := r.URL.Query()
			v.Set("login_hint", p.Subject)
			items = append(items, item{Name: p.Name, URL: r.URL.Path + "?" + v.Encode()})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pickPage.Execute(w, items)
		return
	}
	var person *Person
	for i, p := range s.people {
		if p.Subject == hint || strings.EqualFold(p.IDNumber, hint) {
			person = &s.people[i]
		}
	}
	if person == nil {
		back(url.Values{"error": {"access_denied"}, "error_description": {"unknown person"}})
		return
	}
	code := randomString(24)
	s.mu.Lock()
	if len(s.codes) >= MaxPendingCodes {
		now := s.clock.Now()
		for c, g := range s.codes {
			if now.After(g.expires) {
				delete(s.codes, c)
			}
		}
	}
	if len(s.codes) >= MaxPendingCodes {
		s.mu.Unlock()
		back(url.Values{"error": {"temporarily_unavailable"}})
		return
	}
	s.codes[code] = grant{client: client.ID, redirectURI: redirect, nonce: q.Get("nonce"), challenge: challenge,
		subject: person.Subject, expires: s.clock.Now().Add(codeTTL)}
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil
}

// S256 is the PKCE challenge of verifier.
func S256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidcfake"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	client, ok := s.clients[id]
	s.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(client.Secret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	code := r.PostForm.Get("code")
	s.mu.Lock()
	g, ok := s.codes[code]
	delete(s.codes, code) // a code is used once, whatever the outcome
	tamper := s.tamper
	s.mu.Unlock()
	now := s.clock.Now()
	switch {
	case !ok || now.After(g.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	case g.client != client.ID || g.redirectURI != r.PostForm.Get("redirect_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code issued to another client or redirect_uri")
		return
	case subtle.ConstantTimeCompare([]byte(S256(r.PostForm.Get("code_verifier"))), []byte(g.challenge)) != 1:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
		return
	}
	claims := IDTokenClaims{Issuer: s.issuer, Subject: g.subject, Audience: client.ID, Nonce: g.nonce, IssuedAt: now, Expiry: now.Add(idTTL)}
	if tamper != nil {
		tamper(&claims)
	}
	idToken, err := s.sign(claims)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	at := randomString(24)
	s.mu.Lock()
	for t, a := range s.tokens { // few: each is a code redeemed with the client's secret
		if now.After(a.expires) {
			delete(s.tokens, t)
		}
	}
	s.tokens[at] = access{subject: g.subject, expires: now.Add(accessTTL)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "token_type": "Bearer",
		"expires_in": int(accessTTL.Seconds()), "id_token": idToken, "scope": "openid profile"})
}

func (s *Server) sign(c IDTokenClaims) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), s.kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(struct {
		jwt.Claims
		Nonce string `json:"nonce,omitempty"`
	}{Claims: jwt.Claims{Issuer: c.Issuer, Subject: c.Subject, Audience: jwt.Audience{c.Audience},
		IssuedAt: jwt.NewNumericDate(c.IssuedAt), Expiry: jwt.NewNumericDate(c.Expiry)}, Nonce: c.Nonce}).Serialize()
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	a, found := s.tokens[at]
	s.mu.Unlock()
	if !ok || !found || s.clock.Now().After(a.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	for _, p := range s.people {
		if p.Subject == a.subject {
			writeJSON(w, http.StatusOK, map[string]string{"sub": p.Subject, "name": p.Name, "id_number": p.IDNumber})
			return
		}
	}
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
