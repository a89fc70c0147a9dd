// Package wechatfake is an in-process fake of WeChat's two API hosts,
// api.weixin.qq.com (mini-program: jscode2session, stable_token,
// getuserphonenumber, subscribe send; official account: the web OAuth
// /sns/oauth2/access_token, whose codes work once) and api.mch.weixin.qq.com (WeChat Pay
// v3: JSAPI prepay, query, close, refund, refund query, trade bill and its
// download), speaking the real wire protocol with keys generated at
// construction.
//
// Every pay request must carry a valid merchant Authorization signature;
// every pay answer is signed with the platform key and carries the
// Wechatpay-* headers, so package wechat runs the real wechatpay-go code
// paths against it. Pay simulates the payer at the cashier and posts a
// signed, AES-256-GCM-encrypted TRANSACTION.SUCCESS notification to the
// order's notify_url, retrying on a short schedule like WeChat does on a long
// one; refunds notify likewise. The helpers that build hostile
// notifications (signature probes, stale, foreign app or merchant, other
// amount) let tests prove they are refused.
//
// The crypto here is written against the standard library, not the SDK, so
// the fake checks the SDK rather than agreeing with it by construction.
//
// Tests use it through httptest; the server's sandbox mode starts one in
// process (Start) and points the WeChat channel at URL(). Deliberate
// differences from WeChat: notify URLs may be plain http (the sandbox
// listens on localhost), today's bill can be downloaded at once, and
// mini-program login codes can be reused (a demo logs in with the same code
// again). JSAPI prepay takes both the mini-program's and the official
// account's appid, and refuses an openid the fake issued under the other.
package wechatfake

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/models"
)

// Defaults of the fake's identities.
const (
	DefaultAppID  = "wx00000000fake0001"
	DefaultSecret = "fake-mini-program-secret"
	DefaultMchID  = "1900000109"
	// The official account of 微信城市服务, bound to the same merchant.
	DefaultOAAppID  = "wx00000000fake00a1"
	DefaultOASecret = "fake-official-account-secret"
)

// DefaultNotifyRetry is the delivery schedule when Options.NotifyRetry is
// nil: the delay before each attempt. WeChat's runs 15 s … 24 h; this one
// is short enough for a demo and bounded.
func DefaultNotifyRetry() []time.Duration {
	return []time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second, 15 * time.Second}
}

// DefaultTemplates is the subscribe-message template id per kind that
// ClientConfig configures.
func DefaultTemplates() map[models.MessageKind]string {
	return map[models.MessageKind]string{
		models.MessagePaymentSucceeded: "TPL_PAYMENT_SUCCEEDED",
		models.MessageRefundResult:     "TPL_REFUND_RESULT",
		models.MessagePeriodEnding:     "TPL_PERIOD_ENDING",
	}
}

// Options configures a Server. The zero value works.
type Options struct {
	AppID, Secret, MchID string // defaults DefaultAppID, DefaultSecret, DefaultMchID
	OAAppID, OASecret    string // defaults DefaultOAAppID, DefaultOASecret

	// Clock stamps signatures, orders and tokens (default: the system
	// clock). The SDK checks answer timestamps against the wall clock, so a
	// clock far from now makes the client refuse the fake's answers.
	Clock models.Clock

	// CertificateMode signs as a platform certificate (Wechatpay-Serial is
	// the certificate's serial) instead of a WeChat Pay public key, and
	// ClientConfig hands out the certificate.
	CertificateMode bool

	// ManualRefunds leaves refunds PROCESSING until CompleteRefund; by
	// default a refund succeeds at once (and notifies).
	ManualRefunds bool

	// NotifyRetry is the delay before each notification attempt; delivery
	// stops at the first 200 or 204. Nil means DefaultNotifyRetry(); an
	// empty non-nil slice sends nothing (tests that post notifications
	// themselves).
	NotifyRetry []time.Duration

	// HTTPClient posts notifications (default: 5 s timeout).
	HTTPClient *http.Client

	// Keys reuses keys across servers (tests); nil generates new ones.
	Keys *Keys

	Logger *slog.Logger
}

// Keys are the fake's key material: the merchant's (which the client signs
// with and the fake verifies) and WeChat Pay's (which the fake signs with
// and the client verifies).
type Keys struct {
	MchKey       *rsa.PrivateKey
	MchSerial    string
	PlatformKey  *rsa.PrivateKey
	PubKeyID     string            // public-key mode id, PUB_KEY_ID_…
	PlatformCert *x509.Certificate // certificate mode: self-signed over PlatformKey
	CertSerial   string            // the certificate serial as WeChat writes it (upper-case hex)
	APIv3Key     string            // 32 ASCII characters
}

// GenerateKeys makes fresh keys: two RSA 2048 keys, a platform certificate,
// a PUB_KEY_ID_ and a random APIv3 key.
func GenerateKeys() (*Keys, error) {
	mch, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	plat, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA (fake)", Organization: []string{"lianban wechatfake"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &plat.PublicKey, plat)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Keys{
		MchKey:       mch,
		MchSerial:    strings.ToUpper(randHex(20)),
		PlatformKey:  plat,
		PubKeyID:     "PUB_KEY_ID_" + randDigits(32),
		PlatformCert: cert,
		CertSerial:   fmt.Sprintf("%X", cert.SerialNumber.Bytes()),
		APIv3Key:     randAlnum(32),
	}, nil
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	appID, secret, mchID string
	oaAppID, oaSecret    string
	keys                 *Keys
	clock                models.Clock
	certMode             bool
	manualRefunds        bool
	retry                []time.Duration
	hc                   *http.Client
	log                  *slog.Logger
	handler              http.Handler

	ctx    context.Context // cancelled by Close: stops deliveries
	cancel context.CancelFunc

	mu            sync.Mutex
	srv           *httptest.Server
	users         map[string]user   // login code → user
	oaUsers       map[string]user   // web OAuth code → user
	oaUsed        map[string]bool   // web OAuth codes exchanged already
	openIDApp     map[string]string // openid handed out → the appid it is valid under
	phones        map[string]string // phone code → phone
	refusing      map[string]bool   // openids that have not accepted any template
	token         string
	tokenUntil    time.Time
	tokenRequests int
	sent          []SentMessage
	orders        map[string]*order
	refunds       map[string]*refund
	bills         map[string][]byte // download token → file
	failNext      int
	deliveries    []Delivery
	pending       int
	idle          []chan struct{}
}

type user struct{ openID, unionID string }

// New returns a fake; call Start to serve it on a local port, or mount
// Handler yourself. It panics only if the system's random source fails.
func New(opts Options) *Server {
	keys := opts.Keys
	if keys == nil {
		var err error
		if keys, err = GenerateKeys(); err != nil {
			panic("wechatfake: generating keys: " + err.Error())
		}
	}
	s := &Server{
		appID:         or(opts.AppID, DefaultAppID),
		secret:        or(opts.Secret, DefaultSecret),
		mchID:         or(opts.MchID, DefaultMchID),
		oaAppID:       or(opts.OAAppID, DefaultOAAppID),
		oaSecret:      or(opts.OASecret, DefaultOASecret),
		keys:          keys,
		clock:         opts.Clock,
		certMode:      opts.CertificateMode,
		manualRefunds: opts.ManualRefunds,
		retry:         opts.NotifyRetry,
		hc:            opts.HTTPClient,
		log:           opts.Logger,
		users:         map[string]user{},
		oaUsers:       map[string]user{},
		oaUsed:        map[string]bool{},
		openIDApp:     map[string]string{},
		phones:        map[string]string{},
		refusing:      map[string]bool{},
		orders:        map[string]*order{},
		refunds:       map[string]*refund{},
		bills:         map[string][]byte{},
	}
	if s.clock == nil {
		s.clock = models.SystemClock{}
	}
	if s.retry == nil {
		s.retry = DefaultNotifyRetry()
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 5 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handler = s.routes()
	return s
}

// Handler serves both hosts' APIs (their paths do not overlap).
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves the fake on a local port (once; later calls do nothing).
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		s.srv = httptest.NewServer(s.handler)
	}
}

// URL is the base URL of the started fake, for both APIBase and PayAPIBase;
// "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ""
	}
	return s.srv.URL
}

// Close stops pending notification deliveries and the server.
func (s *Server) Close() {
	s.cancel()
	_ = s.WaitDeliveries(context.Background())
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Keys returns the fake's keys.
func (s *Server) Keys() *Keys { return s.keys }

// AppID, MchID and Secret are the identities the fake accepts.
func (s *Server) AppID() string  { return s.appID }
func (s *Server) MchID() string  { return s.mchID }
func (s *Server) Secret() string { return s.secret }

// OAAppID and OASecret are the official account's identities.
func (s *Server) OAAppID() string  { return s.oaAppID }
func (s *Server) OASecret() string { return s.oaSecret }

// ClientConfig is a complete wechat.Config for this fake: both base URLs
// point at it, and notifications go to notifyURL. Call Start first; before
// it the bases name an unresolvable host rather than the real WeChat.
func (s *Server) ClientConfig(notifyURL string) wechat.Config {
	base := s.URL()
	if base == "" {
		base = "http://wechatfake-not-started.invalid"
	}
	cfg := wechat.Config{
		AppID:    s.appID,
		Secret:   s.secret,
		OAAppID:  s.oaAppID,
		OASecret: s.oaSecret,
		APIBase:  base,
		// The browser goes to the fake's authorize page too, which sends
		// it back anywhere; the H5 page here names no real host, and a
		// caller with a real one sets its own.
		OAAuthorizeBase: base,
		OARedirectURIs:  []string{"https://h5.lianban.invalid/h5/"},
		MchID:           s.mchID,
		MchSerial:       s.keys.MchSerial,
		MchKey:          s.keys.MchKey,
		APIv3Key:        s.keys.APIv3Key,
		PayAPIBase:      base,
		NotifyURL:       notifyURL,
		Templates:       DefaultTemplates(),
		RequestTimeout:  5 * time.Second,
	}
	if s.certMode {
		cfg.PlatformCerts = []*x509.Certificate{s.keys.PlatformCert}
	} else {
		cfg.PubKeyID = s.keys.PubKeyID
		cfg.PubKey = &s.keys.PlatformKey.PublicKey
	}
	return cfg
}

// MerchantPublicKey verifies what the client signs (paySign, requests).
func (s *Server) MerchantPublicKey() *rsa.PublicKey { return &s.keys.MchKey.PublicKey }

// FailNextPayCalls makes the next n pay API calls answer 500 SYSTEM_ERROR,
// as WeChat Pay does when it is in trouble.
func (s *Server) FailNextPayCalls(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// platformSerial is what the fake puts in Wechatpay-Serial.
func (s *Server) platformSerial() string {
	if s.certMode {
		return s.keys.CertSerial
	}
	return s.keys.PubKeyID
}

// sign signs ts\nnonce\nbody\n with the platform key, as WeChat Pay signs
// answers and notifications.
func (s *Server) sign(ts int64, nonce string, body []byte) string {
	msg := fmt.Sprintf("%d\n%s\n%s\n", ts, nonce, body)
	h := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.keys.PlatformKey, crypto.SHA256, h[:])
	if err != nil {
		panic("wechatfake: signing: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics internally instead)
	return b
}

func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }

func randDigits(n int) string {
	b := randBytes(n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randAlnum(n int) string {
	b := randBytes(n)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
