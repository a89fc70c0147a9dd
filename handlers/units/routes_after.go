package units

import "github.com/gin-gonic/gin"

// registerAfter registers uploads and unit refunds.
func (s *Handlers) registerAfter(auth, staffAuth *gin.RouterGroup) {}
