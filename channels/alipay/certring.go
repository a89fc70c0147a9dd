package alipay

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/lianban/lianban/models"
)

// certSetup is the certificate mode parsed: the application's certificate,
// Alipay's roots, the intermediates and the Alipay certificates listed.
type certSetup struct {
	appCertPEM string
	roots      []*x509.Certificate
	inters     []*x509.Certificate
	leaves     []*x509.Certificate
}

// parseCertMode parses and cross-checks the three certificate settings:
// the application certificate must be over the application's key (priv,
// when known), and every Alipay certificate listed must chain to a root.
func parseCertMode(c Config, priv *rsa.PrivateKey) (*certSetup, error) {
	var errs []error
	app, err := parseCerts(c.AppCert)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("AppCert: %w", err))
	case priv != nil && !priv.PublicKey.Equal(app[0].PublicKey):
		errs = append(errs, errors.New("AppCert is not the certificate of PrivateKey (LIANBAN_ALIPAY_APP_CERT_FILE must be appCertPublicKey_….crt of this application)"))
	}
	roots, err := parseCerts(c.AlipayRootCert)
	if err != nil {
		errs = append(errs, fmt.Errorf("AlipayRootCert: %w", err))
	}
	listed, err := parseCerts(c.AlipayPublicCerts)
	if err != nil {
		errs = append(errs, fmt.Errorf("AlipayPublicCerts: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s := &certSetup{appCertPEM: certPEM(app[0]), roots: roots}
	s.leaves, s.inters = splitLeaves(listed)
	if len(s.leaves) == 0 {
		return nil, errors.New("AlipayPublicCerts: no Alipay certificate, only CA certificates")
	}
	for _, l := range s.leaves {
		if _, ok := l.PublicKey.(*rsa.PublicKey); !ok {
			errs = append(errs, fmt.Errorf("AlipayPublicCerts: certificate %s is not RSA (RSA2 needs RSA)", certSN(l)))
		}
		if err := chainsTo(l, s.inters, roots, time.Time{}); err != nil {
			errs = append(errs, fmt.Errorf("AlipayPublicCerts: certificate %s (%s): %w", certSN(l), l.Subject.CommonName, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// parseCerts reads every CERTIFICATE block of a PEM file. Blocks Go cannot
// parse are skipped when others parse: Alipay's root file carries an SM2
// root, which crypto/x509 does not read and RSA2 never uses.
func parseCerts(s string) ([]*x509.Certificate, error) {
	rest := []byte(s)
	var out []*x509.Certificate
	var bad int
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			bad++
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		if bad > 0 {
			return nil, errors.New("no certificate this server can read")
		}
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// splitLeaves tells Alipay certificates from the CA certificates shipped
// with them: a CA certificate is marked so, or issued another one in the
// list (Alipay's intermediate carries no basicConstraints at all).
func splitLeaves(certs []*x509.Certificate) (leaves, inters []*x509.Certificate) {
	for _, c := range certs {
		issuer := c.BasicConstraintsValid && c.IsCA
		for _, o := range certs {
			if o != c && bytes.Equal(o.RawIssuer, c.RawSubject) && c.CheckSignature(o.SignatureAlgorithm, o.RawTBSCertificate, o.Signature) == nil {
				issuer = true
			}
		}
		if issuer {
			inters = append(inters, c)
		} else {
			leaves = append(leaves, c)
		}
	}
	return leaves, inters
}

// maxChain bounds the intermediates between an Alipay certificate and its
// root (Alipay has one).
const maxChain = 3

// errNoChain is a certificate that does not lead to a configured root.
var errNoChain = errors.New("does not chain to LIANBAN_ALIPAY_ROOT_CERT_FILE")

// chainsTo checks that c is signed, through at most maxChain
// intermediates, by one of roots, each link valid at now (zero: any time).
//
// Signatures are checked link by link instead of with x509.Verify, which
// refuses Alipay's real chain: its intermediate has no basicConstraints
// extension, so Go does not count it as a CA. What is checked is what
// matters here: every signature, validity, and that the chain ends at a
// root the operator configured.
func chainsTo(c *x509.Certificate, inters, roots []*x509.Certificate, now time.Time) error {
	return chainsToDepth(c, inters, roots, now, maxChain)
}

func chainsToDepth(c *x509.Certificate, inters, roots []*x509.Certificate, now time.Time, depth int) error {
	if !now.IsZero() && (now.Before(c.NotBefore) || now.After(c.NotAfter)) {
		return fmt.Errorf("certificate %q is not valid at %s", c.Subject.CommonName, now.Format(time.RFC3339))
	}
	signs := func(p *x509.Certificate) bool {
		return bytes.Equal(c.RawIssuer, p.RawSubject) && p.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
	}
	for _, r := range roots {
		if signs(r) {
			return nil
		}
	}
	if depth > 0 {
		for _, i := range inters {
			if !i.Equal(c) && signs(i) && chainsToDepth(i, inters, roots, now, depth-1) == nil {
				return nil
			}
		}
	}
	return errNoChain
}

// certSN is the SN Alipay names a certificate by (app_cert_sn,
// alipay_cert_sn), computed as the SDK and Alipay do: the hex MD5 of the
// issuer's distinguished name and the decimal serial number.
func certSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// Keyring timings: a certificate SN whose download failed verification is
// not fetched again for refuseFor, and downloads are at least fetchGap
// apart, so a stranger posting notifications with made-up SNs cannot turn
// each into a call on the application's Alipay quota.
const (
	refuseFor   = 15 * time.Minute
	fetchGap    = 2 * time.Second
	maxRefusals = 1024
)

// errCertUntrusted is an alipay_cert_sn whose certificate is not trusted:
// not listed, and not downloadable as a certificate chaining to the roots.
var errCertUntrusted = errors.New("alipay certificate not trusted")

// certRing is the set of Alipay certificates the client verifies with,
// loaded into the SDK by SN. It starts with the configured ones; an SN
// Alipay signs with that is not in it (Alipay rotated its certificate) is
// downloaded once through alipay.open.app.alipaycert.download and trusted
// only if it chains to the configured roots, is valid now and names the
// same subject as the configured Alipay certificates. The download answer
// is not signed (the SDK does not verify it), so the chain and the subject
// are what make it trustworthy. The SDK's own download on an unknown SN, which
// trusts whatever comes back, is switched off (see New).
type certRing struct {
	roots, inters []*x509.Certificate
	// subjects are the raw subjects of the configured Alipay
	// certificates. Alipay's CA issues every application's certificate
	// too, so a chain to the root alone would let in any Alipay
	// developer's key; a downloaded certificate must also name Alipay as
	// the configured ones do.
	subjects [][]byte
	clock    models.Clock
	load     func(leafPEM string) error
	download func(ctx context.Context, sn string) (string, error)

	mu      sync.Mutex
	known   map[string]bool
	refused map[string]time.Time

	fetchMu   sync.Mutex // one download at a time
	lastFetch time.Time
}

// knownSNs lists the trusted SNs, sorted.
func (r *certRing) knownSNs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.known))
	for sn := range r.known {
		out = append(out, sn)
	}
	sort.Strings(out)
	return out
}

func (r *certRing) state(sn string) (known, refused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.refused[sn]
	return r.known[sn], ok && r.clock.Now().Sub(at) < refuseFor
}

// ensure makes sn trusted, downloading and checking its certificate if it
// is new. It returns errCertUntrusted for a certificate that fails the
// checks (remembered for refuseFor) and models.ErrUnavailable when the
// download could not be made (not remembered: it is tried again).
// fromGateway is an SN an answer of the gateway named: not a stranger's
// choice, so not throttled (anyone can post notifications with made-up
// SNs, one every fetchGap, and would otherwise keep the certificate Alipay
// rotated to from ever being downloaded).
func (r *certRing) ensure(ctx context.Context, sn string, fromGateway bool) error {
	if sn == "" || len(sn) > 64 {
		return errCertUntrusted
	}
	if known, refused := r.state(sn); known {
		return nil
	} else if refused {
		return errCertUntrusted
	}
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	if known, refused := r.state(sn); known {
		return nil // fetched while this one waited
	} else if refused {
		return errCertUntrusted
	}
	now := r.clock.Now()
	if !fromGateway && !r.lastFetch.IsZero() && now.Sub(r.lastFetch) < fetchGap {
		return fmt.Errorf("%w: alipay certificate download throttled", models.ErrUnavailable)
	}
	r.lastFetch = now
	content, err := r.download(ctx, sn)
	if err != nil {
		var untrusted *untrustedError
		if errors.As(err, &untrusted) {
			r.refuse(sn, now)
			return fmt.Errorf("%w: %s: %v", errCertUntrusted, sn, err)
		}
		return err
	}
	leaf, err := r.check(sn, content, now)
	if err != nil {
		r.refuse(sn, now)
		return fmt.Errorf("%w: %s: %v", errCertUntrusted, sn, err)
	}
	if err := r.load(certPEM(leaf)); err != nil {
		return fmt.Errorf("%w: loading alipay certificate %s: %v", models.ErrInternal, sn, err)
	}
	r.mu.Lock()
	r.known[sn] = true
	r.mu.Unlock()
	return nil
}

func (r *certRing) refuse(sn string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.refused) >= maxRefusals {
		r.refused = map[string]time.Time{}
	}
	r.refused[sn] = now
}

// check finds the certificate named sn in a downloaded file and checks it
// chains to the roots, through the configured intermediates or CA
// certificates of the file, is valid now and has Alipay's subject.
func (r *certRing) check(sn, content string, now time.Time) (*x509.Certificate, error) {
	certs, err := parseCerts(content)
	if err != nil {
		return nil, err
	}
	var leaf *x509.Certificate
	for _, c := range certs {
		if certSN(c) == sn {
			leaf = c
		}
	}
	if leaf == nil {
		return nil, errors.New("the download holds no certificate with this SN")
	}
	if _, ok := leaf.PublicKey.(*rsa.PublicKey); !ok {
		return nil, errors.New("not an RSA certificate")
	}
	if leaf.BasicConstraintsValid && leaf.IsCA {
		return nil, errors.New("a CA certificate, not Alipay's")
	}
	if !slices.ContainsFunc(r.subjects, func(b []byte) bool { return bytes.Equal(b, leaf.RawSubject) }) {
		return nil, fmt.Errorf("subject %q is not that of the Alipay certificates in LIANBAN_ALIPAY_PUBLIC_CERT_FILE", leaf.Subject.String())
	}
	// A certificate of the download may issue another only if it says it
	// is a CA: every application's certificate chains to Alipay's root
	// and, like Alipay's own intermediate, says nothing, so one taken as
	// an intermediate would let its holder issue himself Alipay's name.
	// Alipay's intermediate is trusted through the configured file.
	inters := append([]*x509.Certificate(nil), r.inters...)
	for _, c := range certs {
		if c != leaf && c.BasicConstraintsValid && c.IsCA {
			inters = append(inters, c)
		}
	}
	if err := chainsTo(leaf, inters, r.roots, now); err != nil {
		return nil, err
	}
	return leaf, nil
}

// untrustedError is a download Alipay answered, with a refusal: the SN is
// not one of its certificates.
type untrustedError struct{ msg string }

func (e *untrustedError) Error() string { return e.msg }

// ringFetch marks the keyring's own download requests, which certPeeker
// passes through.
type ringFetch struct{}

// downloadCert fetches the certificate file of sn from the gateway.
func (c *Client) downloadCert(ctx context.Context, sn string) (string, error) {
	ctx, cancel := c.withTimeout(context.WithValue(ctx, ringFetch{}, true))
	defer cancel()
	rsp, err := c.api.CertDownload(ctx, sdk.CertDownload{AliPayCertSN: sn})
	var hdr *sdk.Error
	if rsp != nil {
		hdr = &rsp.Error
	}
	biz, err := result("alipaycert.download", err, hdr)
	if err != nil {
		return "", err
	}
	if biz != nil {
		if biz.transient() {
			return "", biz.as(models.ErrUnavailable)
		}
		return "", &untrustedError{msg: biz.Error()}
	}
	b, err := base64.StdEncoding.DecodeString(rsp.AliPayCertContent)
	if err != nil {
		return "", &untrustedError{msg: "alipay_cert_content is not base64"}
	}
	return string(b), nil
}

// maxPeek bounds the gateway answers certPeeker reads ahead; bigger ones
// (none of the APIs lianban calls) pass untouched.
const maxPeek = 1 << 20

// certPeeker looks at each gateway answer before the SDK verifies it: an
// alipay_cert_sn the keyring does not know (Alipay rotated its
// certificate) is fetched first, so answers keep verifying across a
// rotation. A failure is left for the SDK to report as an unverifiable
// answer (unavailable, never a result).
type certPeeker struct {
	base http.RoundTripper
	ring *certRing
}

func (p *certPeeker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.base.RoundTrip(r)
	if err != nil || r.Context().Value(ringFetch{}) != nil {
		return resp, err
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxPeek+1))
	if err != nil || len(head) > maxPeek {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
		return resp, nil
	}
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(head))
	var env struct {
		SN string `json:"alipay_cert_sn"`
	}
	if json.Unmarshal(head, &env) == nil && env.SN != "" {
		_ = p.ring.ensure(r.Context(), env.SN, true)
	}
	return resp, nil
}
