// Package mengsuban is the login of 蒙速办, the Inner Mongolia government
// services app: OpenID Connect authorization code with PKCE, through
// coreos/go-oidc (discovery, JWKS, ID token verification) and
// golang.org/x/oauth2 (the code exchange). Discovery is lazy and retried,
// so start-up does not depend on the provider (in sandbox mode the
// provider is the server itself, not listening yet). State and nonce are
// issued and checked by the login workflow (service/people); this package
// puts them in the authorization URL and checks the ID token's nonce.
//
// Real-name claims are read from userinfo: name and id_number (both or
// neither), with sub equal to the ID token's. oidcfake is the provider the
// tests and the sandbox run against.
package mengsuban

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lianban/lianban/models"
	"golang.org/x/oauth2"
)

// Config is the 蒙速办 relying party.
type Config struct {
	Issuer, ClientID, ClientSecret string
	// RedirectURIs are the pages people may be sent back to, exactly.
	RedirectURIs []string
}

// Configured reports whether any key is set.
func (c Config) Configured() bool {
	return c.Issuer != "" || c.ClientID != "" || c.ClientSecret != "" || len(c.RedirectURIs) > 0
}

// Validate reports a missing setting.
func (c Config) Validate() error {
	var missing []string
	for _, kv := range [][2]string{{"LIANBAN_MENGSUBAN_ISSUER", c.Issuer}, {"LIANBAN_MENGSUBAN_CLIENT_ID", c.ClientID},
		{"LIANBAN_MENGSUBAN_CLIENT_SECRET", c.ClientSecret}} {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(c.RedirectURIs) == 0 {
		missing = append(missing, "LIANBAN_MENGSUBAN_REDIRECT_URIS")
	}
	if len(missing) > 0 {
		return fmt.Errorf("set %s", strings.Join(missing, ", "))
	}
	return nil
}

// discoveryRetry is the least time between two failed discoveries.
const discoveryRetry = 5 * time.Second

// discoveryTimeout bounds a discovery, which runs whatever its caller does.
const discoveryTimeout = 10 * time.Second

// Client is the relying party. It implements models.AuthorizationCodeLogin
// and is safe for concurrent use.
type Client struct {
	cfg   Config
	hc    *http.Client
	clock models.Clock

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	failedAt time.Time
	lastErr  error
}

var _ models.AuthorizationCodeLogin = (*Client)(nil)

// New returns a client; nothing is fetched until the first login.
func New(cfg Config, hc *http.Client, clock models.Clock) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	if clock == nil {
		clock = models.SystemClock{}
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	return &Client{cfg: cfg, hc: hc, clock: clock}, nil
}

// Name implements models.LoginChannel.
func (c *Client) Name() string { return models.ChannelMengsuban }

// Login implements models.LoginChannel: a code alone is refused, since it
// is only redeemed with the state it was issued for.
func (c *Client) Login(ctx context.Context, code string) (models.ChannelIdentity, error) {
	return models.ChannelIdentity{}, c.refuse(models.LoginReasonState, errors.New("a code without its state"))
}

// RedirectAllowed implements models.AuthorizationCodeLogin.
func (c *Client) RedirectAllowed(uri string) bool { return slices.Contains(c.cfg.RedirectURIs, uri) }

func (c *Client) refuse(reason string, err error) error {
	return models.RefuseLogin(models.ChannelMengsuban, reason, err)
}

// discover returns the provider, fetching discovery on first use and
// again after a failure (at most once per discoveryRetry).
func (c *Client) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, c.verifier, nil
	}
	now := c.clock.Now()
	if !c.failedAt.IsZero() && now.Sub(c.failedAt) < discoveryRetry && now.After(c.failedAt) {
		return nil, nil, models.ErrUnavailable.WithReason("蒙速办 discovery: " + c.lastErr.Error())
	}
	// Discovery serves every login after it, so it is not tied to this
	// caller: one who hangs up would otherwise make it fail, and the retry
	// gap would keep that failure for everyone.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, c.hc), c.cfg.Issuer)
	if err != nil {
		c.failedAt, c.lastErr = now, err
		return nil, nil, models.ErrUnavailable.WithReason("蒙速办 discovery: " + err.Error())
	}
	c.provider = p
	c.verifier = p.Verifier(&oidc.Config{ClientID: c.cfg.ClientID, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
		Now: c.clock.Now})
	return p, c.verifier, nil
}

func (c *Client) oauth(p *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURI, Scopes: []string{oidc.ScopeOpenID, "profile"}}
}

// AuthorizationURL implements models.AuthorizationCodeLogin.
func (c *Client) AuthorizationURL(ctx context.Context, req models.AuthorizationRequest) (string, error) {
	p, _, err := c.discover(ctx)
	if err != nil {
		return "", err
	}
	return c.oauth(p, req.RedirectURI).AuthCodeURL(req.State, oidc.Nonce(req.Nonce),
		oauth2.SetAuthURLParam("code_challenge", req.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256")), nil
}

// Exchange implements models.AuthorizationCodeLogin.
func (c *Client) Exchange(ctx context.Context, req models.CodeExchange) (models.ChannelIdentity, error) {
	p, verifier, err := c.discover(ctx)
	if err != nil {
		return models.ChannelIdentity{}, err
	}
	hctx := oidc.ClientContext(ctx, c.hc) // the same key oauth2.HTTPClient reads
	tok, err := c.oauth(p, req.RedirectURI).Exchange(hctx, req.Code, oauth2.VerifierOption(req.CodeVerifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
			return models.ChannelIdentity{}, c.refuse(models.LoginReasonCode, err)
		}
		return models.ChannelIdentity{}, models.ErrUnavailable.WithReason("蒙速办 token: " + err.Error())
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return models.ChannelIdentity{}, c.refuse(models.LoginReasonMalformed, errors.New("no id_token"))
	}
	idt, err := verifier.Verify(hctx, raw)
	if err != nil {
		return models.ChannelIdentity{}, c.refuse(verifyReason(err), err)
	}
	if idt.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(req.Nonce)) != 1 {
		return models.ChannelIdentity{}, c.refuse(models.LoginReasonNonce, errors.New("nonce differs"))
	}
	if idt.Subject == "" || len(idt.Subject) > 96 {
		return models.ChannelIdentity{}, c.refuse(models.LoginReasonMalformed, errors.New("sub"))
	}
	ui, err := p.UserInfo(hctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		if strings.HasPrefix(err.Error(), "4") { // "401 Unauthorized: …"
			return models.ChannelIdentity{}, c.refuse(models.LoginReasonUserInfo, err)
		}
		return models.ChannelIdentity{}, models.ErrUnavailable.WithReason("蒙速办 userinfo: " + err.Error())
	}
	if ui.Subject != idt.Subject {
		return models.ChannelIdentity{}, c.refuse(models.LoginReasonUserInfo, errors.New("userinfo sub differs from the ID token's"))
	}
	var claims struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	}
	if err := ui.Claims(&claims); err != nil {
		return models.ChannelIdentity{}, c.refuse(models.LoginReasonUserInfo, err)
	}
	id := models.ChannelIdentity{Channel: models.ChannelMengsuban, Subject: idt.Subject}
	name, number := strings.TrimSpace(claims.Name), strings.TrimSpace(claims.IDNumber)
	switch {
	case name != "" && number != "":
		id.RealName = &models.RealName{Name: name, IDNumber: number}
	case name != "" || number != "":
		return models.ChannelIdentity{}, c.refuse(models.LoginReasonClaims, errors.New("name without id_number or the reverse"))
	}
	return id, nil
}

// verifyReason names what go-oidc refused. Its errors are plain text
// except for expiry, so the label is read from the words it uses.
func verifyReason(err error) string {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &exp):
		return models.LoginReasonExpired
	case strings.Contains(msg, "issued by a different provider"):
		return models.LoginReasonIssuer
	case strings.Contains(msg, "expected audience"):
		return models.LoginReasonAudience
	case strings.Contains(msg, "nbf"):
		return models.LoginReasonNotYetValid
	case strings.Contains(msg, "signing algorithm") || strings.Contains(msg, "unexpected signature algorithm"):
		return models.LoginReasonAlgorithm
	case strings.Contains(msg, "signature"):
		return models.LoginReasonSignature
	}
	return models.LoginReasonMalformed
}
