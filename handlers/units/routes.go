package units

import (
	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
)

// Handlers serve the unit routes. Shared plumbing (error rendering, body
// decoding, idempotency, sessions) is httpx.Kit's.
type Handlers struct {
	*httpx.Kit
}

// Register registers the unit routes on auth (a citizen session: units act
// through verified people), v1 (routes of the outside world, such as
// notifications) and staffAuth (the hall's side of unit cases).
func Register(k *httpx.Kit, v1, auth, staffAuth *gin.RouterGroup) {
	s := &Handlers{Kit: k}
	s.registerCore(auth)
	s.registerPay(v1, auth, staffAuth)
	s.registerAfter(auth, staffAuth)
}

// unitIdempotent runs one of a unit's create operations under its
// Idempotency-Key, kept per unit: the same key and body on another unit
// run there rather than replay this unit's answer. Who acts for the unit
// is checked first, so a stored answer is replayed only to someone still
// acting for it (not to an operator since removed), and a unit_id that
// names no unit of the caller's never reaches the key store. op plus the
// unit id must fit the key store's operation column (40 characters; unit
// ids are 18).
func (s *Handlers) unitIdempotent(c *gin.Context, op string, in any, run func() (int, any, error)) {
	unitID := c.Param("unit_id")
	if _, err := s.Svc.ActsFor(c.Request.Context(), httpx.UserID(c), unitID); err != nil {
		s.Fail(c, err)
		return
	}
	s.Idempotent(c, op+":"+unitID, in, run)
}
