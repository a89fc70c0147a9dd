package httpx

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
)

// staffKey carries the staff actor; a type of its own, so nothing of the
// citizen session can be mistaken for it.
type staffKey struct{}

type staffTokenKey struct{}

type staffCookieKey struct{}

// The staff console's session: the token in an HttpOnly, Secure,
// SameSite=Strict cookie scoped to the staff API, which the page's script
// can neither read nor send elsewhere, plus a CSRF token the page keeps in
// memory and sends as CSRFHeader with every request.
const (
	StaffCookie = "lb_staff"
	StaffPath   = "/api/v1/staff"
	CSRFHeader  = "X-CSRF-Token"
)

// SetStaffCookie hands a cookie session's token to the browser. No
// Max-Age: the cookie ends with the browser, the session earlier on the
// server (30 minutes idle, 12 hours at most).
func SetStaffCookie(c *gin.Context, token string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: StaffCookie, Value: token, Path: StaffPath,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// ClearStaffCookie tells the browser to forget the session cookie.
func ClearStaffCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: StaffCookie, Value: "", Path: StaffPath, MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// StaffCookieToken is the session cookie the request carries, if any.
func StaffCookieToken(c *gin.Context) string {
	v, err := c.Cookie(StaffCookie)
	if err != nil {
		return ""
	}
	return v
}

// NoStore keeps staff answers (one-time passwords, personal data) out of
// caches.
func NoStore() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.Next()
	}
}

// RequestMeta is where a staff request came from, for the audit log.
func RequestMeta(c *gin.Context) kernel.RequestMeta {
	return kernel.RequestMeta{ClientIP: c.ClientIP(), PeerIP: c.RemoteIP(), RequestID: RequestID(c)}
}

// StaffAuthenticated requires a live staff session: a bearer token (API
// clients), or the console's cookie together with its CSRF token on every
// request, whatever the method. A request with an Authorization header is
// judged by that header alone.
func (s *Kit) StaffAuthenticated() gin.HandlerFunc {
	return func(c *gin.Context) {
		var (
			a      kernel.StaffActor
			err    error
			cookie bool
		)
		token, ok := bearerToken(c.GetHeader("Authorization"))
		switch {
		case ok:
			a, err = s.Svc.AuthenticateStaff(c.Request.Context(), token, RequestMeta(c))
		case c.GetHeader("Authorization") == "" && StaffCookieToken(c) != "":
			token, cookie = StaffCookieToken(c), true
			a, err = s.Svc.AuthenticateStaffCookie(c.Request.Context(), token, c.GetHeader(CSRFHeader), RequestMeta(c))
		default:
			err = models.ErrUnauthenticated
		}
		if err != nil {
			s.Fail(c, err)
			return
		}
		ctx := context.WithValue(c.Request.Context(), staffKey{}, a)
		ctx = context.WithValue(ctx, staffTokenKey{}, token)
		ctx = context.WithValue(ctx, staffCookieKey{}, cookie)
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// StaffActor is the staff member StaffAuthenticated found.
func StaffActor(c *gin.Context) kernel.StaffActor {
	a, _ := c.Request.Context().Value(staffKey{}).(kernel.StaffActor)
	return a
}

// StaffByCookie reports whether the staff session came in the console's
// cookie.
func StaffByCookie(c *gin.Context) bool {
	v, _ := c.Request.Context().Value(staffCookieKey{}).(bool)
	return v
}

// StaffToken is the token of the staff session (bearer or cookie).
func StaffToken(c *gin.Context) string {
	token, _ := c.Request.Context().Value(staffTokenKey{}).(string)
	return token
}
