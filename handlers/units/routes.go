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
