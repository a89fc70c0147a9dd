package partners

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// ClockWindow is how far a request's X-Timestamp may be from the server's
// clock, either way (API.md: ±300 s).
const ClockWindow = 300 * time.Second

// nonceGrace keeps a nonce a minute past the last moment its request
// could pass the clock window, for instances whose clocks differ a little.
const nonceGrace = time.Minute

// Reasons a request is refused, for the metric and the call record; the
// caller only ever hears PARTNER_AUTH_FAILED.
const (
	ReasonMalformed      = "malformed"
	ReasonUnknownPartner = "unknown_partner"
	ReasonDisabled       = "disabled"
	ReasonBadSignature   = "bad_signature"
	ReasonStaleTimestamp = "stale_timestamp"
	ReasonReplayedNonce  = "replayed_nonce"
)

// Reasons lists every refusal reason, for metrics that start at zero.
var Reasons = []string{ReasonUnknownPartner, ReasonDisabled, ReasonBadSignature, ReasonStaleTimestamp, ReasonReplayedNonce, ReasonMalformed}

// AuthFailure is a refused partner request. It is PARTNER_AUTH_FAILED to
// errors.Is and models.AsError (so handlers render it as every other
// refusal); Reason is for the metric and the call record only.
type AuthFailure struct{ Reason string }

func (e *AuthFailure) Error() string { return "partner auth failed: " + e.Reason }

// Unwrap makes the failure PARTNER_AUTH_FAILED.
func (e *AuthFailure) Unwrap() error { return models.ErrPartnerAuthFailed }

func refuse(reason string) (kernel.PartnerActor, error) {
	return kernel.PartnerActor{}, &AuthFailure{Reason: reason}
}

// validNonce is 8–64 of [A-Za-z0-9._-]: enough room for a UUID or 128
// random bits, nothing that could smuggle a line into the string to sign.
func validNonce(n string) bool {
	if len(n) < 8 || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		b := n[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

// AuthenticatePartner checks a signed /partner/v1 request (the four X- headers,
// the method, the request URI as sent and the body) and returns the
// partner. Every refusal is ErrPartnerAuthFailed carrying its reason
// (*AuthFailure). The checks run cheapest and least revealing first:
// the headers' shape, the partner, the signature (against each live key,
// in constant time), then the clock window, then the nonce. The
// signature comes before the clock so a stale_timestamp in the metrics is
// a real partner's clock drifting, not a stranger's noise; the nonce comes
// last so nobody but the key holder can use up a partner's nonces.
//
// A nonce is claimed for good in the database (a unique row per partner
// and nonce), on every request; Redis (SET NX with the same expiry) only
// screens replays first, so a flood of replays costs no database writes.
// A replay is therefore refused whatever Redis does: up, down (its error
// is ignored and the database decides), or back after an outage without
// the keys claimed meanwhile (the database still has them). Redis alone
// could not promise that, and a database-only fallback would miss the
// nonces claimed in Redis when it is the one that fails. The rows expire
// with the clock window and the worker purges them.
func (s *Partners) AuthenticatePartner(ctx context.Context, partnerID, timestamp, nonce, signature, method, requestURI string,
	body []byte, meta kernel.RequestMeta) (kernel.PartnerActor, error) {
	return s.AuthenticatePartnerWith(ctx, "", partnerID, timestamp, nonce, signature, method, requestURI, body, meta)
}

// AuthenticatePartnerWith is AuthenticatePartner for a request that names
// its signature method (X-Signature-Method). Under the 国密 option
// (Options.CryptoSM) HMAC-SM3 is accepted beside the default HMAC-SHA256,
// so partners move over at their own pace; an unknown method is
// malformed. Without the option the header is ignored, as it always was.
func (s *Partners) AuthenticatePartnerWith(ctx context.Context, sigMethod, partnerID, timestamp, nonce, signature, method, requestURI string,
	body []byte, meta kernel.RequestMeta) (kernel.PartnerActor, error) {
	mac := partner.MethodHash("")
	if s.Opt.CryptoSM {
		mac = partner.MethodHash(sigMethod)
	}
	ts, tsErr := strconv.ParseInt(timestamp, 10, 64)
	sig, sigErr := base64.StdEncoding.DecodeString(signature)
	if !partnerIDPattern.MatchString(partnerID) || tsErr != nil || sigErr != nil || len(sig) != sha256.Size || !validNonce(nonce) ||
		method == "" || requestURI == "" || mac == nil {
		return refuse(ReasonMalformed)
	}
	var p store.PartnerRow
	if err := s.Conn(ctx).Where("id = ?", partnerID).Take(&p).Error; err != nil {
		if kernel.IsNotFound(err) {
			return refuse(ReasonUnknownPartner)
		}
		return kernel.PartnerActor{}, kernel.Internal("load partner", err)
	}
	if p.Status != StatusActive {
		return refuse(ReasonDisabled)
	}
	var keys []store.PartnerKeyRow
	if err := s.Conn(ctx).Where("partner_id = ? AND status = ?", p.ID, KeyLive).Order("created_at, id").Find(&keys).Error; err != nil {
		return kernel.PartnerActor{}, kernel.Internal("load partner keys", err)
	}
	keyID := ""
	for _, k := range keys {
		secret, err := s.PII.Open(k.SecretSealed)
		if err != nil {
			return kernel.PartnerActor{}, kernel.Internal("open partner key", err)
		}
		want, _ := base64.StdEncoding.DecodeString(partner.SignWith(mac, []byte(secret), method, requestURI, ts, nonce, body))
		// Every live key is tried, matched or not, so the time taken does
		// not say which one matched.
		if hmac.Equal(want, sig) && keyID == "" {
			keyID = k.ID
		}
	}
	if keyID == "" {
		return refuse(ReasonBadSignature)
	}
	now := s.Now()
	at := time.Unix(ts, 0).UTC()
	if d := now.Sub(at); d > ClockWindow || d < -ClockWindow {
		return refuse(ReasonStaleTimestamp)
	}
	fresh, err := s.claimNonce(ctx, p.ID, nonce, at.Add(ClockWindow+nonceGrace))
	if err != nil {
		return kernel.PartnerActor{}, err
	}
	if !fresh {
		return refuse(ReasonReplayedNonce)
	}
	return kernel.PartnerActor{PartnerID: p.ID, Name: p.Name, KeyID: keyID, Channels: splitChannels(p.Channels), RequestMeta: meta}, nil
}

func nonceHash(nonce string) string {
	h := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(h[:])
}

// claimNonce uses a partner's nonce until expires, reporting false when
// it was already used. See AuthenticatePartner for why both stores.
func (s *Partners) claimNonce(ctx context.Context, partnerID, nonce string, expires time.Time) (bool, error) {
	now := s.Now()
	h := nonceHash(nonce)
	ttl := expires.Sub(now)
	ok, err := s.Redis.Client.SetNX(ctx, "lb:pn:"+partnerID+":"+h, 1, ttl).Result()
	switch {
	case err != nil:
		s.Log.WarnContext(ctx, "partner nonce cache unavailable, the database decides alone", "err", err)
	case !ok:
		return false, nil
	}
	row := store.PartnerNonceRow{PartnerID: partnerID, NonceHash: h, ExpiresAt: expires}
	inserted, err := kernel.InsertIfAbsent(s.Conn(ctx), &row)
	if err != nil {
		return false, kernel.Internal("claim partner nonce", err)
	}
	if inserted {
		return true, nil
	}
	// A row the worker has not purged yet may be long expired: its request
	// can no longer pass the clock window, so the nonce is free again. The
	// conditional update lets exactly one of concurrent claimers take it.
	res := s.Conn(ctx).Model(&store.PartnerNonceRow{}).
		Where("partner_id = ? AND nonce_hash = ? AND expires_at < ?", partnerID, h, now).
		Update("expires_at", expires)
	if res.Error != nil {
		return false, kernel.Internal("reclaim partner nonce", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// PurgePartnerNonces deletes nonce rows whose requests can no longer pass the
// clock window; the worker runs it on every pass.
func (s *Partners) PurgePartnerNonces(ctx context.Context) error {
	err := s.Conn(ctx).Where("expires_at < ?", s.Now()).Delete(&store.PartnerNonceRow{}).Error
	return kernel.Internal("purge partner nonces", err)
}

// Call is the audit record of one /partner/v1 request.
type Call struct {
	// PartnerID is the partner that signed, or on a refusal the one the
	// request claimed (X-Partner-Id, cut to fit).
	PartnerID     string
	Authenticated bool
	KeyID         string
	Method        string
	Route         string // the route template, "" when none matched
	Path          string // without the query
	Status        int
	Reason        string // a refusal's reason
	Meta          kernel.RequestMeta
}

// Call outcomes.
const (
	CallOK      = "ok"      // answered below 400
	CallError   = "error"   // authenticated, answered 400 or above
	CallRefused = "refused" // not authenticated
)

// RecordPartnerCall appends a call's audit record.
func (s *Partners) RecordPartnerCall(ctx context.Context, c Call) error {
	outcome := CallOK
	switch {
	case !c.Authenticated:
		outcome = CallRefused
	case c.Status >= 400:
		outcome = CallError
	}
	now := s.Now()
	row := store.PartnerCallRow{ID: kernel.NewSortableID("pc", now), At: now, PartnerID: kernel.Truncate(printable(c.PartnerID), 64),
		Authenticated: c.Authenticated, KeyID: kernel.Truncate(c.KeyID, 40), Method: kernel.Truncate(printable(c.Method), 10),
		Route: kernel.Truncate(c.Route, 128), Path: kernel.Truncate(printable(c.Path), 255), Status: c.Status, Outcome: outcome,
		Reason: kernel.Truncate(c.Reason, 32), ClientIP: kernel.Truncate(c.Meta.ClientIP, 64), PeerIP: kernel.Truncate(c.Meta.PeerIP, 64),
		RequestID: kernel.Truncate(c.Meta.RequestID, 64)}
	return kernel.Internal("record partner call", s.Conn(ctx).Create(&row).Error)
}

// printable keeps what a stranger sent storable on every dialect: valid
// UTF-8 without control characters (PostgreSQL refuses NUL, and a log
// reader should not meet terminal escapes).
func printable(v string) string {
	out := make([]rune, 0, len(v))
	for _, r := range v {
		if r == 0xFFFD || r < 0x20 || r == 0x7F {
			out = append(out, '?')
			continue
		}
		out = append(out, r)
	}
	return string(out)
}
