package people

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// AuthorizationTTL is how long a state issued by StartAuthorization may
// come back: the time a person takes to sign in at the provider.
const AuthorizationTTL = 10 * time.Minute

// AuthorizationStart is where the front end sends the browser, with the
// state the provider will hand back.
type AuthorizationStart struct {
	AuthorizationURL string    `json:"authorization_url"`
	State            string    `json:"state"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// CodeLoginInput is the code the provider sent back to the redirect page,
// with the state that came with it and the PKCE verifier the front end
// kept.
type CodeLoginInput struct {
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	CodeVerifier string `json:"code_verifier"`
	State        string `json:"state"`
}

// pendingAuthorization is what a state stands for, kept in Redis only:
// it lives minutes, is used once, and a state Redis lost is simply a
// login to start again (never one accepted), like the sessions there.
type pendingAuthorization struct {
	Channel       string `json:"c"`
	Nonce         string `json:"n"`
	RedirectURI   string `json:"r"`
	CodeChallenge string `json:"p"`
}

func authorizationKey(state string) string {
	h := sha256.Sum256([]byte(state))
	return "lb:authz:" + hex.EncodeToString(h[:])
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", kernel.Internal("random", err)
	}
	// Hex, 64 characters: WeChat's web OAuth takes a state of a-zA-Z0-9
	// only (at most 128 bytes) and Alipay's of base64 characters (at most
	// 100); base64url's '-' and '_' fit neither.
	return hex.EncodeToString(b), nil
}

// validChallenge: an S256 challenge is 32 bytes, base64url unpadded.
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size && len(c) == 43
}

func (s *People) codeChannel(channel string) (models.AuthorizationCodeLogin, error) {
	lc, ok := s.Logins[channel].(models.AuthorizationCodeLogin)
	if !ok {
		return nil, models.ErrChannelUnsupported
	}
	return lc, nil
}

// LoginChannels are the channels this server can log people in through
// (wechat, wechat_web, alipay, alipay_web, taxapp, mengsuban as
// configured), sorted: a page offers only the ways that can work here.
func (s *People) LoginChannels() []string {
	out := make([]string, 0, len(s.Logins))
	for ch, lc := range s.Logins {
		if lc != nil {
			out = append(out, ch)
		}
	}
	slices.Sort(out)
	return out
}

// StartAuthorization issues a state and a nonce for a sign-in at an
// authorization-code channel (蒙速办) and returns the provider's URL. The
// redirect URI must be one the channel is configured with; the code
// challenge is the front end's S256 PKCE challenge, kept to be checked
// against the verifier at login.
func (s *People) StartAuthorization(ctx context.Context, channel, redirectURI, codeChallenge string) (AuthorizationStart, error) {
	lc, err := s.codeChannel(channel)
	if err != nil {
		return AuthorizationStart{}, err
	}
	if !lc.RedirectAllowed(redirectURI) {
		return AuthorizationStart{}, models.ErrInvalid.WithReason("redirect_uri 未登记")
	}
	if !validChallenge(codeChallenge) {
		return AuthorizationStart{}, models.ErrInvalid.WithReason("code_challenge 应为 S256 方式（43位 base64url）")
	}
	state, err := randomToken()
	if err != nil {
		return AuthorizationStart{}, err
	}
	nonce, err := randomToken()
	if err != nil {
		return AuthorizationStart{}, err
	}
	u, err := lc.AuthorizationURL(ctx, models.AuthorizationRequest{State: state, Nonce: nonce, RedirectURI: redirectURI, CodeChallenge: codeChallenge})
	if err != nil {
		return AuthorizationStart{}, err
	}
	b, _ := json.Marshal(pendingAuthorization{Channel: channel, Nonce: nonce, RedirectURI: redirectURI, CodeChallenge: codeChallenge})
	if err := s.Redis.Client.Set(ctx, authorizationKey(state), b, AuthorizationTTL).Err(); err != nil {
		return AuthorizationStart{}, models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	return AuthorizationStart{AuthorizationURL: u, State: state, ExpiresAt: s.Now().Add(AuthorizationTTL)}, nil
}

// LoginWithCode finishes a sign-in started by StartAuthorization: the
// state must be one we issued, unexpired and unused (it is consumed
// here, whatever follows), for the same channel and redirect URI, and the
// verifier must match the challenge; the channel then redeems the code
// and checks the ID token's nonce against the one issued with the state.
func (s *People) LoginWithCode(ctx context.Context, channel string, in CodeLoginInput) (LoginResult, error) {
	lc, err := s.codeChannel(channel)
	if err != nil {
		return LoginResult{}, err
	}
	if in.Code == "" || in.State == "" || in.RedirectURI == "" || in.CodeVerifier == "" {
		return LoginResult{}, models.ErrInvalid.WithReason("需要 code、state、redirect_uri 和 code_verifier")
	}
	if len(in.Code) > 2048 || len(in.State) > 256 || len(in.RedirectURI) > 2048 || len(in.CodeVerifier) > 128 {
		return LoginResult{}, models.ErrInvalid.WithReason("参数过长")
	}
	pa, err := s.redeemState(ctx, channel, in.State)
	if err != nil {
		return LoginResult{}, err
	}
	if pa.RedirectURI != in.RedirectURI {
		return LoginResult{}, models.RefuseLogin(channel, models.LoginReasonRedirect, nil)
	}
	h := sha256.Sum256([]byte(in.CodeVerifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(h[:])), []byte(pa.CodeChallenge)) != 1 {
		return LoginResult{}, models.RefuseLogin(channel, models.LoginReasonPKCE, nil)
	}
	id, err := lc.Exchange(ctx, models.CodeExchange{Code: in.Code, RedirectURI: in.RedirectURI, CodeVerifier: in.CodeVerifier, Nonce: pa.Nonce})
	if err != nil {
		return LoginResult{}, err
	}
	return s.startChannelSession(ctx, id)
}

// startChannelSession checks the real name a channel vouches for (as a
// typed-in one is checked) before anything is written, then starts the
// session, binding it.
func (s *People) startChannelSession(ctx context.Context, id models.ChannelIdentity) (LoginResult, error) {
	if id.OnceID != "" {
		// Redis is the record here: a login without it cannot start a
		// session either, and a replay is never let through.
		ttl := id.OnceUntil.Sub(s.Now())
		if ttl < time.Second {
			ttl = time.Second
		}
		fresh, err := s.Redis.Client.SetNX(ctx, "lb:once:"+id.Channel+":"+id.OnceID, 1, ttl).Result()
		if err != nil {
			return LoginResult{}, models.ErrUnavailable.WithReason("session store: " + err.Error())
		}
		if !fresh {
			return LoginResult{}, models.RefuseLogin(id.Channel, models.LoginReasonReplayed, errors.New("credential already used"))
		}
	}
	if id.RealName != nil {
		parsed, err := models.ParseIDNumber(strings.TrimSpace(strings.ToUpper(id.RealName.IDNumber)))
		if err != nil || parsed.Birth.After(s.Now()) {
			return LoginResult{}, models.RefuseLogin(id.Channel, models.LoginReasonClaims, errors.New("id_number"))
		}
		name, err := models.CheckPersonName(id.RealName.Name)
		if err != nil {
			return LoginResult{}, models.RefuseLogin(id.Channel, models.LoginReasonClaims, errors.New("name"))
		}
		id.RealName = &models.RealName{Name: name, IDNumber: parsed.Number}
	}
	return s.startSession(ctx, id)
}

// bindChannelIdentity binds the account to the person a channel vouches
// for (a channel-verified identity: the channel did the real-name check,
// so no registry check is spent). An account bound to someone else keeps
// its binding and the login is refused with IDENTITY_ALREADY_BOUND; a
// person we hold under another name is IDENTITY_MISMATCH.
func (s *People) bindChannelIdentity(ctx context.Context, row store.UserRow, rn *models.RealName) error {
	parsed, err := models.ParseIDNumber(rn.IDNumber)
	if err != nil {
		return err
	}
	p, err := s.personFor(ctx, rn.Name, parsed)
	if err != nil {
		return err
	}
	if row.PersonID != nil {
		if *row.PersonID == p.ID {
			return nil
		}
		return models.ErrIdentityBound
	}
	res := s.Conn(ctx).Model(&store.UserRow{}).Where("id = ? AND person_id IS NULL", row.ID).
		Updates(map[string]any{"person_id": p.ID, "verified_at": s.Now()})
	if res.Error != nil {
		return kernel.Internal("bind", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	// Bound concurrently: fine if to the same person.
	u, err := s.User(ctx, row.ID)
	if err != nil {
		return err
	}
	if u.PersonID != nil && *u.PersonID == p.ID {
		return nil
	}
	return models.ErrIdentityBound
}
