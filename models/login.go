package models

import (
	"context"
	"errors"
)

// RealName is a person's name and ID number as a login channel vouches
// for them: the 税务 APP's identity service and 蒙速办 check real names
// themselves (face recognition at registration), so a login through them
// binds the account's identity without the registry check a typed-in
// name gets. The workflow still checks the formats.
type RealName struct {
	Name     string
	IDNumber string
}

// LoginRefusal is a login channel's (or the login workflow's) refusal of
// a credential: forged, expired, for another audience, a replayed state.
// Reason is a short fixed label (see the LoginReason constants) for the
// refusal counter and the log; the client sees only LOGIN_FAILED, so it
// learns nothing about which check failed.
type LoginRefusal struct {
	Channel string
	Reason  string
	Err     error // the library's own words, for the log
}

func (r *LoginRefusal) Error() string {
	msg := "login refused (" + r.Channel + ", " + r.Reason + ")"
	if r.Err != nil {
		msg += ": " + r.Err.Error()
	}
	return msg
}

// Unwrap makes a refusal ErrLoginFailed for errors.Is and AsError.
func (r *LoginRefusal) Unwrap() []error {
	if r.Err == nil {
		return []error{ErrLoginFailed}
	}
	return []error{ErrLoginFailed, r.Err}
}

// RefuseLogin returns a LoginRefusal of channel for reason.
func RefuseLogin(channel, reason string, cause error) error {
	return &LoginRefusal{Channel: channel, Reason: reason, Err: cause}
}

// AsLoginRefusal returns the LoginRefusal inside err, if any.
func AsLoginRefusal(err error) (*LoginRefusal, bool) {
	var r *LoginRefusal
	ok := errors.As(err, &r)
	return r, ok
}

// Reasons of a LoginRefusal: a fixed set, so the counter's labels stay few.
const (
	LoginReasonMalformed   = "malformed"     // not a JWT, missing sub or exp
	LoginReasonAlgorithm   = "algorithm"     // alg not allowed (none, HS*)
	LoginReasonUnknownKey  = "unknown_kid"   // no key with that kid, even after a refetch
	LoginReasonSignature   = "signature"     // the signature does not verify
	LoginReasonExpired     = "expired"       // exp passed (beyond the leeway)
	LoginReasonNotYetValid = "not_yet_valid" // nbf or iat in the future
	LoginReasonIssuer      = "issuer"
	LoginReasonAudience    = "audience"
	LoginReasonClaims      = "claims"       // real-name claims missing one half or malformed
	LoginReasonState       = "state"        // unknown, expired or already used state
	LoginReasonRedirect    = "redirect_uri" // not the one the state was issued for
	LoginReasonPKCE        = "pkce"         // code_verifier does not match code_challenge
	LoginReasonNonce       = "nonce"
	LoginReasonCode        = "code"     // the provider refused the authorization code
	LoginReasonUserInfo    = "userinfo" // userinfo refused or for another subject
	LoginReasonIdentity    = "identity" // the real name conflicts with the account or our records
	LoginReasonReplayed    = "replayed" // a single-use credential (tax APP token) already logged in
)

// AuthorizationRequest is what an authorization-code channel puts in the
// URL it sends the browser to. State and Nonce are issued and kept by the
// workflow; CodeChallenge is the front end's PKCE S256 challenge.
type AuthorizationRequest struct {
	State, Nonce, RedirectURI, CodeChallenge string
}

// CodeExchange redeems an authorization code. Nonce is the one issued
// with the state the code came back with.
type CodeExchange struct {
	Code, RedirectURI, CodeVerifier, Nonce string
}

// AuthorizationCodeLogin is a login channel that signs people in through
// a browser redirect: OpenID Connect authorization code with PKCE
// (蒙速办). The login workflow issues, keeps and checks state and nonce;
// the channel speaks the protocol. Its plain Login is refused: a code is
// only redeemed together with its state.
type AuthorizationCodeLogin interface {
	LoginChannel
	// RedirectAllowed reports whether redirectURI is one of the
	// configured pages people may be sent back to.
	RedirectAllowed(redirectURI string) bool
	// AuthorizationURL is where the browser goes to sign in.
	AuthorizationURL(ctx context.Context, req AuthorizationRequest) (string, error)
	// Exchange redeems a code at the token endpoint, verifies the ID
	// token (signature, iss, aud, exp, nonce) and reads the real name
	// from userinfo.
	Exchange(ctx context.Context, req CodeExchange) (ChannelIdentity, error)
}

// RedirectLogin is a login channel whose one-time code comes back through
// a browser redirect with no PKCE and no ID token to bind it to the
// browser that started (微信城市服务's official-account web OAuth). The
// login workflow issues a state for each start and redeems a code only
// with a state it issued, unused: without that, a code an attacker got
// for their own account, planted in a victim's browser, would log the
// victim into the attacker's account (login CSRF), and a real-name
// binding the victim made there would be the attacker's. The channel's
// plain Login is what redeems the code once the state has been checked.
type RedirectLogin interface {
	LoginChannel
	// RedirectAllowed reports whether redirectURI is one of the
	// configured pages people may be sent back to.
	RedirectAllowed(redirectURI string) bool
	// AuthorizeURL is where the browser goes for a code.
	AuthorizeURL(redirectURI, state string) string
}
