package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/lianban/lianban/channels/mengsuban"
	"github.com/lianban/lianban/channels/mengsuban/oidcfake"
	"github.com/lianban/lianban/channels/sandbox"
	"github.com/lianban/lianban/channels/taxapp"
	"github.com/lianban/lianban/channels/taxapp/taxappfake"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
)

// sandboxOIDCClient is the relying party the sandbox's 蒙速办 fake knows.
const sandboxOIDCClient = "lianban-sandbox"

// wireLogins sets up the 税务 APP and 蒙速办 logins. Configured, each
// talks to its real identity service; unconfigured in sandbox mode, the
// same verifier and relying party talk to an in-process fake: the tax
// APP's identity service on a loopback port, 蒙速办's OpenID provider
// served by this server at /sandbox/oidc (so discovery calls the server
// itself, lazily, once it listens).
func wireLogins(cfg Config, d *service.Deps, app *App, hc *http.Client) error {
	tc := taxapp.Config{JWKSURL: cfg.TaxAppJWKSURL, Issuer: cfg.TaxAppIssuer, Audience: cfg.TaxAppAudience}
	switch {
	case tc.Configured():
		if err := tc.Validate(); err != nil {
			return fmt.Errorf("the tax APP login is partly configured: %w", err)
		}
	case cfg.Sandbox:
		fake, err := taxappfake.New(taxappfake.Options{Issuer: cfg.PublicURL + "/sandbox/taxapp", Audience: "lianban-sandbox"})
		if err != nil {
			return fmt.Errorf("tax APP fake: %w", err)
		}
		fake.Start()
		app.closers = append(app.closers, fake.Close)
		tc = taxapp.Config{JWKSURL: fake.JWKSURL(), Issuer: fake.Issuer(), Audience: fake.Audience()}
		app.sandboxTaxApp = fake
		app.log.Info("the tax APP login runs against its in-process fake")
	}
	if tc.Configured() {
		v, err := taxapp.New(tc, hc, d.Clock)
		if err != nil {
			return fmt.Errorf("tax APP login: %w", err)
		}
		d.Logins[models.ChannelTaxApp] = v
	}

	mc := mengsuban.Config{Issuer: cfg.MengsubanIssuer, ClientID: cfg.MengsubanClientID, ClientSecret: cfg.MengsubanClientSecret,
		RedirectURIs: splitList(cfg.MengsubanRedirectURIs)}
	// In sandbox mode an unset issuer means the in-process provider; any
	// of issuer, client id or secret set means a real one, fully set.
	real := mc.ClientID != "" || mc.ClientSecret != "" || mc.Issuer != ""
	switch {
	case real:
		if err := mc.Validate(); err != nil {
			return fmt.Errorf("the 蒙速办 login is partly configured: %w", err)
		}
	case cfg.Sandbox:
		if len(mc.RedirectURIs) == 0 {
			mc.RedirectURIs = []string{cfg.PublicURL + "/h5/mengsuban/callback"}
		}
		secret, err := randomSecret()
		if err != nil {
			return err
		}
		mc.Issuer, mc.ClientID, mc.ClientSecret = cfg.PublicURL+handlers.SandboxOIDCPrefix, sandboxOIDCClient, secret
		var people []oidcfake.Person
		for i, p := range sandbox.DemoPeople() {
			people = append(people, oidcfake.Person{Subject: fmt.Sprintf("msb-demo-%d", i+1), Name: p.Name, IDNumber: p.IDNumber})
		}
		fake, err := oidcfake.New(oidcfake.Options{Issuer: mc.Issuer, People: people,
			Clients: []oidcfake.Client{{ID: mc.ClientID, Secret: mc.ClientSecret, RedirectURIs: mc.RedirectURIs}}})
		if err != nil {
			return fmt.Errorf("蒙速办 fake: %w", err)
		}
		app.sandboxOIDC = fake
		app.log.Info("the 蒙速办 login runs against the in-process OpenID provider", "issuer", mc.Issuer)
	default:
		return nil
	}
	c, err := mengsuban.New(mc, hc, d.Clock)
	if err != nil {
		return fmt.Errorf("蒙速办 login: %w", err)
	}
	d.Logins[models.ChannelMengsuban] = c
	return nil
}

// randomSecret is the sandbox relying party's client secret, new on every
// start: only this process holds both ends.
func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
