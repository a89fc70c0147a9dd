// Package partner serves the counter API, /partner/v1: what banks at
// their counters, 云POS and 裕农通 terminals and the hall's POS call to
// query payables, create, confirm and reverse orders and hand in their
// reconciliation. Every route sits behind httpx.Kit.PartnerAuthenticated,
// so a handler finds its caller with httpx.PartnerActor and checks the
// channel it names with MayUse.
package partner

import (
	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
)

// Register registers the counter routes on pv1, the signed /partner/v1
// group. (The money routes are added by the counters work; the group and
// its authentication are in place for them.)
func Register(k *httpx.Kit, pv1 *gin.RouterGroup) {
	_, _ = k, pv1
}
