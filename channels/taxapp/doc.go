// Package taxapp is the login of the 内蒙古税务 APP: the APP's identity
// service issues a signed JWT, and Verifier checks it against the
// service's JWKS (cached, refetched on an unknown kid no more often than a
// floor allows), with the algorithm allow-listed (RS256, ES256), and iss,
// aud, exp and nbf checked with a small leeway.
//
// Claims read (documented in README):
//
//	sub        the APP's stable user id (required) → the account's subject
//	exp        required; nbf and iat optional, never in the future
//	jti        optional; a token logs in once, known by its jti or else
//	           by its signed header and claims (checked in service/people)
//	iss, aud   must be LIANBAN_TAXAPP_ISSUER and contain LIANBAN_TAXAPP_AUDIENCE
//	name       the real name the APP verified (optional, with id_number)
//	id_number  the 18-character 居民身份证 number (optional, with name)
//
// A token with name and id_number binds the account's identity as
// channel-verified; a token with neither logs in an unverified account;
// one without the other is refused. taxappfake is the identity service
// the tests and the sandbox run against.
package taxapp
