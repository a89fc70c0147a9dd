package people

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm/clause"
)

// Session is a logged-in user. SessionKey (WeChat's session_key) lives
// only here, on the server.
type Session struct {
	UserID     string    `json:"user_id"`
	Channel    string    `json:"channel"`
	Subject    string    `json:"subject"`
	SessionKey string    `json:"session_key,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"-"`
	// Verified is the user and person rows once the user is verified
	// (sealed as in the database), so that a request of a verified user
	// is one Redis command and no database read: see kernel.Verified for
	// why the copy cannot go stale.
	Verified *kernel.Verified `json:"verified,omitempty"`
}

// User is the account view returned by login and getMe.
type User struct {
	UserID           string `json:"user_id"`
	Channel          string `json:"channel"`
	RealNameVerified bool   `json:"real_name_verified"`
	NameMasked       string `json:"name_masked"`
	IDNumberMasked   string `json:"id_number_masked"`
	PhoneMasked      string `json:"phone_masked,omitempty"`
}

// LoginResult is what a login returns: an opaque bearer token.
type LoginResult struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// sessionKey stores a hash of the token, so a Redis dump does not hand out
// live sessions.
func sessionKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return "lb:sess:" + hex.EncodeToString(h[:])
}

// Login exchanges a channel's one-time code for a session.
func (s *People) Login(ctx context.Context, channel, code string) (LoginResult, error) {
	lc, ok := s.Logins[channel]
	if !ok {
		return LoginResult{}, models.ErrChannelUnsupported
	}
	if code == "" {
		return LoginResult{}, models.ErrInvalid.WithReason("缺少登录凭证")
	}
	if _, ok := lc.(models.RedirectLogin); ok {
		// Its codes are redeemed only with their state (LoginWithState).
		return LoginResult{}, models.RefuseLogin(channel, models.LoginReasonState, errors.New("a code without its state"))
	}
	id, err := lc.Login(ctx, code)
	if err != nil {
		return LoginResult{}, err
	}
	return s.startChannelSession(ctx, id)
}

// LoginSandbox logs in a sandbox user named by subject (sandbox mode only).
func (s *People) LoginSandbox(ctx context.Context, subject string) (LoginResult, error) {
	if !s.Opt.Sandbox {
		return LoginResult{}, models.ErrNotFound
	}
	if subject == "" || len(subject) > 64 {
		return LoginResult{}, models.ErrInvalid.WithReason("subject 不能为空且不超过64个字符")
	}
	return s.startSession(ctx, models.ChannelIdentity{Channel: models.ChannelSandbox, Subject: subject})
}

func (s *People) startSession(ctx context.Context, id models.ChannelIdentity) (LoginResult, error) {
	now := s.Now()
	row := store.UserRow{ID: kernel.NewID("u"), Channel: id.Channel, Subject: id.Subject, UnionID: id.UnionID, CreatedAt: now}
	// Insert-if-absent, then read: two first logins racing get one account.
	if err := s.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return LoginResult{}, kernel.Internal("create user", err)
	}
	// Read into a fresh row: gorm adds a non-zero primary key of the
	// destination to the query, and row still holds the id we failed to
	// insert when the user already existed.
	row = store.UserRow{}
	if err := s.Conn(ctx).Where("channel = ? AND subject = ?", id.Channel, id.Subject).Take(&row).Error; err != nil {
		return LoginResult{}, kernel.Internal("load user", err)
	}
	if id.RealName != nil {
		if err := s.bindChannelIdentity(ctx, row, id.RealName); err != nil {
			return LoginResult{}, err
		}
		bound, err := s.User(ctx, row.ID)
		if err != nil {
			return LoginResult{}, err
		}
		row = bound
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return LoginResult{}, kernel.Internal("token", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	verified, err := s.Verified(ctx, row.ID)
	if err != nil {
		return LoginResult{}, err
	}
	sess := Session{UserID: row.ID, Channel: id.Channel, Subject: id.Subject, SessionKey: id.SessionKey, CreatedAt: now,
		Verified: verified}
	b, _ := json.Marshal(sess)
	if err := s.Redis.Client.Set(ctx, sessionKey(token), b, s.Opt.SessionTTL).Err(); err != nil {
		return LoginResult{}, models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	u, err := s.userView(ctx, row)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Token: token, ExpiresAt: now.Add(s.Opt.SessionTTL), User: u}, nil
}

// Authenticate resolves a bearer token and slides its expiry, in one
// Redis command (GETEX). A session of a user not verified when it began
// looks the user up in the database on each request, and takes the copy
// of the verified user into Redis as soon as there is one (verified in
// this session or another).
func (s *People) Authenticate(ctx context.Context, token string) (Session, error) {
	sess, _, err := s.AuthenticatePrefetching(ctx, token, nil)
	return sess, err
}

// AuthenticatePrefetching is Authenticate that also reads the cache
// entries keysFor names, in the same round trip as the session. keysFor
// is given the person this session was verified as when an earlier
// request of it on this instance saw that ("" otherwise); it returns the
// keys to read (none for nothing). What is read is returned only when the
// session read with it is alive and verified as that same person, so a
// logged-out or another session never gets them.
func (s *People) AuthenticatePrefetching(ctx context.Context, token string, keysFor func(personID string) []string) (Session, kernel.Prefetched, error) {
	if token == "" {
		return Session{}, nil, models.ErrUnauthenticated
	}
	key := sessionKey(token)
	hint := s.decoded.personOf(key)
	var keys []string
	if keysFor != nil {
		keys = keysFor(hint)
	}
	raw, vals, err := s.Redis.GetExWith(ctx, key, s.Opt.SessionTTL, keys)
	if errors.Is(err, redis.Nil) {
		return Session{}, nil, models.ErrUnauthenticated
	}
	if err != nil {
		return Session{}, nil, models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	sess, err := s.decoded.decode(raw)
	if err != nil {
		return Session{}, nil, models.ErrUnauthenticated
	}
	sess.ExpiresAt = s.Now().Add(s.Opt.SessionTTL)
	if sess.Verified != nil {
		s.decoded.rememberPerson(key, sess.Verified.Person.ID)
		return sess, prefetched(vals, keys, hint == "" || hint == sess.Verified.Person.ID), nil
	}
	verified, err := s.Verified(ctx, sess.UserID)
	if err != nil || verified == nil {
		return sess, prefetched(vals, keys, hint == ""), err
	}
	sess.Verified = verified
	b, _ := json.Marshal(sess)
	// XX: a session ended (Logout) while this request ran stays ended. A
	// failed write only means the next request looks again.
	_ = s.Redis.Client.SetXX(ctx, key, b, redis.KeepTTL).Err()
	return sess, prefetched(vals, keys, hint == ""), nil
}

// prefetched is what was read at keys, when it may be used: a failed
// read (nil) is nothing, and so is one chosen for another person than the
// session's.
func prefetched(vals []any, keys []string, samePerson bool) kernel.Prefetched {
	if !samePerson || len(keys) == 0 || len(vals) != len(keys) {
		return nil
	}
	p := make(kernel.Prefetched, len(keys))
	for i, k := range keys {
		if v, ok := vals[i].(string); ok {
			p[k] = &v
		} else {
			p[k] = nil
		}
	}
	return p
}

// Logout ends a session.
func (s *People) Logout(ctx context.Context, token string) error {
	s.decoded.forget(sessionKey(token))
	if err := s.Redis.Client.Del(ctx, sessionKey(token)).Err(); err != nil {
		return models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	return nil
}

// Me returns the caller's account view.
func (s *People) Me(ctx context.Context, userID string) (User, error) {
	row, err := s.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	return s.userView(ctx, row)
}

func (s *People) userView(ctx context.Context, row store.UserRow) (User, error) {
	u := User{UserID: row.ID, Channel: row.Channel}
	if row.PhoneSealed != "" {
		if phone, err := s.PII.Open(row.PhoneSealed); err == nil {
			u.PhoneMasked = models.MaskPhone(phone)
		}
	}
	if row.PersonID == nil {
		return u, nil
	}
	p, err := s.Person(ctx, *row.PersonID)
	if err != nil {
		return u, err
	}
	u.RealNameVerified = true
	u.NameMasked = models.MaskName(p.Name)
	u.IDNumberMasked = models.MaskIDNumber(p.IDNumber)
	return u, nil
}
