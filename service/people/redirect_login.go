package people

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/lianban/lianban/models"
	"github.com/redis/go-redis/v9"
)

// StateLoginInput is the code a redirect-login channel (微信城市服务) sent
// back to the H5, with the state that came with it.
type StateLoginInput struct {
	Code  string `json:"code"`
	State string `json:"state"`
}

func (s *People) redirectChannel(channel string) (models.RedirectLogin, error) {
	lc, ok := s.Logins[channel].(models.RedirectLogin)
	if !ok {
		return nil, models.ErrChannelUnsupported
	}
	return lc, nil
}

// StartRedirectLogin issues a state for a sign-in at a redirect-login
// channel and returns the channel's authorize URL carrying it. The state
// is kept as 蒙速办's is (Redis only, AuthorizationTTL, one use): a state
// Redis lost is a login to start again, never one let through.
func (s *People) StartRedirectLogin(ctx context.Context, channel, redirectURI string) (AuthorizationStart, error) {
	lc, err := s.redirectChannel(channel)
	if err != nil {
		return AuthorizationStart{}, err
	}
	if !lc.RedirectAllowed(redirectURI) {
		return AuthorizationStart{}, models.ErrInvalid.WithReason("redirect_uri 未登记")
	}
	state, err := randomToken()
	if err != nil {
		return AuthorizationStart{}, err
	}
	b, _ := json.Marshal(pendingAuthorization{Channel: channel, RedirectURI: redirectURI})
	if err := s.Redis.Client.Set(ctx, authorizationKey(state), b, AuthorizationTTL).Err(); err != nil {
		return AuthorizationStart{}, models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	return AuthorizationStart{AuthorizationURL: lc.AuthorizeURL(redirectURI, state), State: state,
		ExpiresAt: s.Now().Add(AuthorizationTTL)}, nil
}

// LoginWithState finishes a sign-in started by StartRedirectLogin: the
// state must be one issued for this channel, unexpired and unused (it is
// used up here, whatever follows), and only then is the code redeemed.
// A code without its state is refused, so a code made for someone else's
// account cannot be planted in this browser (login CSRF).
func (s *People) LoginWithState(ctx context.Context, channel string, in StateLoginInput) (LoginResult, error) {
	lc, err := s.redirectChannel(channel)
	if err != nil {
		return LoginResult{}, err
	}
	if in.Code == "" || in.State == "" {
		return LoginResult{}, models.ErrInvalid.WithReason("需要 code 和 state")
	}
	if len(in.Code) > 2048 || len(in.State) > 256 {
		return LoginResult{}, models.ErrInvalid.WithReason("参数过长")
	}
	if _, err := s.redeemState(ctx, channel, in.State); err != nil {
		return LoginResult{}, err
	}
	id, err := lc.Login(ctx, in.Code)
	if err != nil {
		return LoginResult{}, err
	}
	return s.startChannelSession(ctx, id)
}

// redeemState uses up a state StartRedirectLogin or StartLogin issued for
// channel and returns what was recorded with it. An unknown, expired, used
// or other channel's state is a refused login; the state is gone whatever
// follows, so a code can be tried with it once.
func (s *People) redeemState(ctx context.Context, channel, state string) (pendingAuthorization, error) {
	raw, err := s.Redis.Client.GetDel(ctx, authorizationKey(state)).Result()
	if errors.Is(err, redis.Nil) {
		return pendingAuthorization{}, models.RefuseLogin(channel, models.LoginReasonState, errors.New("unknown, expired or used state"))
	}
	if err != nil {
		return pendingAuthorization{}, models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	var pa pendingAuthorization
	if json.Unmarshal([]byte(raw), &pa) != nil || pa.Channel != channel {
		return pendingAuthorization{}, models.RefuseLogin(channel, models.LoginReasonState, errors.New("state of another channel"))
	}
	return pa, nil
}
