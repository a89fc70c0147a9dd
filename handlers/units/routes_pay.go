package units

import "github.com/gin-gonic/gin"

// registerPay registers 三方协议 agreements, unit payments (三方协议,
// 银行端凭证, POS) and the bank's notifications.
func (s *Handlers) registerPay(v1, auth, staffAuth *gin.RouterGroup) {}
