package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/lianban/lianban/models"
)

// Client is one Alipay application. It is safe for concurrent use.
type Client struct {
	cfg   Config
	api   *sdk.Client
	hc    *http.Client
	clock models.Clock
	ring  *certRing // certificate mode only
}

// The interfaces Client implements, checked at compile time.
var (
	_ models.LoginChannel   = (*Client)(nil)
	_ models.PaymentChannel = (*Client)(nil)
	_ models.BillSource     = (*Client)(nil)
)

// New builds a Client for cfg. hc carries every call (nil means a client of
// its own); clock dates refunds and notifications that carry no time, and
// decides whether a certificate is valid.
//
// The SDK is built with its production flag off and the configured gateway
// as its "sandbox" gateway. The flag does two things lianban meets: which
// gateway option applies (either names the configured one here), and, on
// an alipay_cert_sn it does not know, a download of that certificate which
// it then trusts without checking it chains to Alipay's root. Off, the SDK
// never downloads; the certificate keyring (certRing) does, and checks.
func New(cfg Config, hc *http.Client, clock models.Clock) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{}
	}
	if clock == nil {
		clock = models.SystemClock{}
	}
	priv, _ := parsePrivateKey(cfg.PrivateKey) // Validate has parsed the keys
	c := &Client{cfg: cfg, hc: hc, clock: clock}
	sdkHC := hc
	var setup *certSetup
	if cfg.CertMode() {
		setup, _ = parseCertMode(cfg, priv)
		c.ring = &certRing{roots: setup.roots, inters: setup.inters, clock: clock, download: c.downloadCert,
			known: map[string]bool{}, refused: map[string]time.Time{}}
		for _, l := range setup.leaves {
			c.ring.subjects = append(c.ring.subjects, l.RawSubject)
		}
		copied := *hc // the caller's client keeps its own transport
		base := copied.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		copied.Transport = &certPeeker{base: base, ring: c.ring}
		sdkHC = &copied
	}
	api, err := sdk.New(cfg.AppID, privatePEM(priv), false,
		sdk.WithSandboxGateway(cfg.gateway()),
		sdk.WithHTTPClient(sdkHC),
		// Request timestamps and time_expire are Beijing time whatever
		// the server's TZ is.
		sdk.WithTimeLocation(models.Beijing),
	)
	if err != nil {
		return nil, fmt.Errorf("alipay: %w", err)
	}
	c.api = api
	if setup == nil {
		pub, _ := parsePublicKey(cfg.AlipayPublicKey)
		pubPEM, err := publicPEM(pub)
		if err != nil {
			return nil, fmt.Errorf("alipay: %w", err)
		}
		if err := api.LoadAliPayPublicKey(pubPEM); err != nil {
			return nil, fmt.Errorf("alipay: Alipay public key: %w", err)
		}
		return c, nil
	}
	if err := api.LoadAppCertPublicKey(setup.appCertPEM); err != nil {
		return nil, fmt.Errorf("alipay: application certificate: %w", err)
	}
	if err := api.LoadAliPayRootCert(cfg.AlipayRootCert); err != nil {
		return nil, fmt.Errorf("alipay: Alipay root certificate: %w", err)
	}
	c.ring.load = api.LoadAlipayCertPublicKey
	// Oldest first: the SDK takes the last one loaded for an answer that
	// names no certificate.
	sort.SliceStable(setup.leaves, func(i, j int) bool { return setup.leaves[i].NotBefore.Before(setup.leaves[j].NotBefore) })
	now := clock.Now()
	for _, l := range setup.leaves {
		if now.Before(l.NotBefore) || now.After(l.NotAfter) {
			continue // an old certificate kept in the file after a rotation
		}
		if err := api.LoadAlipayCertPublicKey(certPEM(l)); err != nil {
			return nil, fmt.Errorf("alipay: Alipay certificate %s: %w", certSN(l), err)
		}
		c.ring.known[certSN(l)] = true
	}
	if len(c.ring.known) == 0 {
		return nil, errors.New("alipay: no certificate in AlipayPublicCerts (LIANBAN_ALIPAY_PUBLIC_CERT_FILE) is valid now")
	}
	return c, nil
}

// Name is the channel name users and orders carry.
func (c *Client) Name() string { return models.ChannelAlipay }

// withTimeout bounds one gateway call.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.requestTimeout())
}

// apiError is an Alipay answer whose code is not 10000.
type apiError struct {
	op      string
	Code    string
	Msg     string
	SubCode string
	SubMsg  string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("alipay %s: %s %s %s %s", e.op, e.Code, e.Msg, e.SubCode, e.SubMsg)
}

// transient reports an answer that says "try again": the gateway or the
// acquirer is busy or failed internally, so nothing is known about the
// outcome.
func (e *apiError) transient() bool {
	switch {
	case e.Code == string(sdk.CodeUnknowError), e.Code == string(sdk.CodeCallLimited):
		return true
	case e.SubCode == subBillNotExist: // an isp.* code that is not an outage
		return false
	default:
		return strings.HasPrefix(e.SubCode, "aop.") || strings.HasPrefix(e.SubCode, "isp.") ||
			strings.HasSuffix(e.SubCode, "SYSTEM_ERROR")
	}
}

// misconfigured reports an answer that blames our application (signature,
// app id, permissions): no retry helps, an operator must act.
func (e *apiError) misconfigured() bool {
	s := strings.ToLower(e.SubCode)
	return e.Code == string(sdk.CodePermissionDenied) || strings.Contains(s, "signature") ||
		strings.Contains(s, "app-id") || strings.Contains(s, "permission") || strings.Contains(s, "encrypt")
}

// as wraps e in a models error so errors.Is and models.AsError see the
// domain meaning while logs keep Alipay's codes.
func (e *apiError) as(target *models.Error) error {
	return fmt.Errorf("%w: %w", target, e)
}

// unavailable wraps a transport failure (timeout, connection refused,
// unreadable or badly signed answer).
func unavailable(op string, err error) error {
	return fmt.Errorf("alipay %s: %w: %w", op, models.ErrUnavailable, err)
}

// result splits the outcome of an SDK call into a business failure and a
// transport failure; both nil means code 10000.
//
// The SDK returns a signed answer with code != 10000 as err == nil, so hdr is
// checked here, once, for every call. It returns an unsigned answer (or an
// error_response) as *sdk.Error; a "success" among those was not verified,
// so it counts as unreadable.
func result(op string, err error, hdr *sdk.Error) (*apiError, error) {
	if err != nil {
		var ae *sdk.Error
		if errors.As(err, &ae) && ae != nil && ae.Code != "" && ae.IsFailure() {
			return &apiError{op: op, Code: string(ae.Code), Msg: ae.Msg, SubCode: ae.SubCode, SubMsg: ae.SubMsg}, nil
		}
		return nil, unavailable(op, err)
	}
	if hdr == nil {
		return nil, unavailable(op, errors.New("empty answer"))
	}
	if hdr.Code != sdk.CodeSuccess {
		return &apiError{op: op, Code: string(hdr.Code), Msg: hdr.Msg, SubCode: hdr.SubCode, SubMsg: hdr.SubMsg}, nil
	}
	return nil, nil
}

// Alipay's time formats, all Beijing time.
const (
	alipayTime       = "2006-01-02 15:04:05"
	alipayTimeMillis = "2006-01-02 15:04:05.000"
	alipayMinute     = "2006-01-02 15:04"
)

// parseTime reads an Alipay timestamp as UTC; zero when absent or unreadable
// (times are informative, never a reason to reject money news).
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{alipayTime, alipayTimeMillis} {
		if t, err := time.ParseInLocation(layout, s, models.Beijing); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// answer is what every SDK answer type has: the embedded sdk.Error, whose
// Error method is promoted to the answer.
type answer interface {
	*sdk.TradeCreateRsp | *sdk.TradeQueryRsp | *sdk.TradeCloseRsp | *sdk.TradeRefundRsp |
		*sdk.TradeFastPayRefundQueryRsp | *sdk.BillDownloadURLQueryRsp
}

// headerOf returns the code/sub_code part of an SDK answer, nil when the
// SDK returned no answer.
func headerOf[R answer](rsp R) *sdk.Error {
	if rsp == nil {
		return nil
	}
	var h *sdk.Error
	switch r := any(rsp).(type) {
	case *sdk.TradeCreateRsp:
		h = &r.Error
	case *sdk.TradeQueryRsp:
		h = &r.Error
	case *sdk.TradeCloseRsp:
		h = &r.Error
	case *sdk.TradeRefundRsp:
		h = &r.Error
	case *sdk.TradeFastPayRefundQueryRsp:
		h = &r.Error
	case *sdk.BillDownloadURLQueryRsp:
		h = &r.Error
	}
	return h
}
