package httpx

import (
	"context"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/service/kernel"
)

// partnerKey carries the partner actor of a /partner/v1 request; a type of
// its own, so neither a citizen's nor a staff session can be mistaken for
// it.
type partnerKey struct{}

// WithPartner puts the authenticated partner on the request. Only the
// partner authentication middleware (and tests standing in for it) call
// it.
func WithPartner(c *gin.Context, a kernel.PartnerActor) {
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), partnerKey{}, a))
}

// PartnerActor is the partner the authentication middleware found; ok is
// false on a request that did not pass it.
func PartnerActor(c *gin.Context) (kernel.PartnerActor, bool) {
	a, ok := c.Request.Context().Value(partnerKey{}).(kernel.PartnerActor)
	return a, ok
}
