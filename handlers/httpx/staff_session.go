package httpx

import (
	"context"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
)

// staffKey carries the staff actor; a type of its own, so nothing of the
// citizen session can be mistaken for it.
type staffKey struct{}

type staffTokenKey struct{}

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

// StaffAuthenticated requires a live staff session.
func (s *Kit) StaffAuthenticated() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			s.Fail(c, models.ErrUnauthenticated)
			return
		}
		a, err := s.Svc.AuthenticateStaff(c.Request.Context(), token, RequestMeta(c))
		if err != nil {
			s.Fail(c, err)
			return
		}
		ctx := context.WithValue(c.Request.Context(), staffKey{}, a)
		ctx = context.WithValue(ctx, staffTokenKey{}, token)
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// StaffActor is the staff member StaffAuthenticated found.
func StaffActor(c *gin.Context) kernel.StaffActor {
	a, _ := c.Request.Context().Value(staffKey{}).(kernel.StaffActor)
	return a
}

// StaffToken is the bearer token of the staff session.
func StaffToken(c *gin.Context) string {
	token, _ := c.Request.Context().Value(staffTokenKey{}).(string)
	return token
}
