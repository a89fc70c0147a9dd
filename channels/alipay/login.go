package alipay

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/lianban/lianban/models"
)

// Login exchanges the mini-program's auth_code (my.getAuthCode) for the
// user's identity: the 2088… user_id, or the open_id in OpenIDMode.
//
// It returns models.ErrLoginFailed when Alipay rejects the code (invalid,
// expired or used: codes are single-use) and models.ErrUnavailable when
// Alipay does not answer.
func (c *Client) Login(ctx context.Context, code string) (models.ChannelIdentity, error) {
	const op = "system.oauth.token"
	if strings.TrimSpace(code) == "" {
		return models.ChannelIdentity{}, fmt.Errorf("alipay %s: empty auth_code: %w", op, models.ErrLoginFailed)
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	rsp, err := c.api.SystemOauthToken(ctx, sdk.SystemOauthToken{GrantType: "authorization_code", Code: code})
	// A successful token answer carries no code at all, so result's
	// "code must be 10000" rule does not apply; and the SDK's own
	// IsSuccess demands a user_id, which open_id applications never get.
	var hdr *sdk.Error
	if rsp != nil {
		hdr = &rsp.Error
		if hdr.Code == "" {
			hdr = &sdk.Error{Code: sdk.CodeSuccess}
		}
	}
	biz, err := result(op, err, hdr)
	if err != nil {
		return models.ChannelIdentity{}, err
	}
	if biz != nil {
		return models.ChannelIdentity{}, loginFailure(biz)
	}
	if rsp.AccessToken == "" {
		return models.ChannelIdentity{}, unavailable(op, errors.New("answer without access_token"))
	}
	subject := rsp.UserId
	if c.cfg.OpenIDMode {
		subject = rsp.OpenId
	}
	if subject == "" {
		// The application's id mode (user_id or open_id) in the Alipay
		// console differs from OpenIDMode: an operator must fix it.
		return models.ChannelIdentity{}, fmt.Errorf("alipay %s: answer has user_id=%t open_id=%t but OpenIDMode=%t: %w",
			op, rsp.UserId != "", rsp.OpenId != "", c.cfg.OpenIDMode, models.ErrInternal)
	}
	return models.ChannelIdentity{Channel: models.ChannelAlipay, Subject: subject, UnionID: rsp.UnionId}, nil
}

func loginFailure(e *apiError) error {
	switch {
	case e.transient():
		return e.as(models.ErrUnavailable)
	case e.misconfigured():
		return e.as(models.ErrInternal)
	case e.Code == string(sdk.CodeInvalidParam), e.Code == string(sdk.CodeBusinessFailed),
		e.Code == string(sdk.CodeInvalidAuthToken):
		// isv.code-invalid, an expired or reused code, a revoked grant:
		// the user logs in again with a fresh code.
		return e.as(models.ErrLoginFailed)
	default:
		return e.as(models.ErrInternal)
	}
}
