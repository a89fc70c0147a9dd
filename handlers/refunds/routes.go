package refunds

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
)

// Handlers serve the refund routes. Shared plumbing (error rendering, body
// decoding, idempotency, sessions) is httpx.Kit's.
type Handlers struct {
	*httpx.Kit
}

// Register registers the refund routes: the applicant's under the citizen
// session (auth), the hall's steps under a staff session (staff).
func Register(k *httpx.Kit, auth, staff *gin.RouterGroup) {
	s := &Handlers{Kit: k}
	auth.POST("/refunds", s.createRefund)
	auth.GET("/refunds", s.listRefunds)
	auth.GET("/refunds/refundable", s.listRefundable)
	auth.GET("/refunds/:refund_no", s.getRefund)
	auth.POST("/refunds/:refund_no/withdraw", s.withdrawRefund)
	staff.GET("/refunds", s.listStaffRefunds)
	staff.GET("/refunds/:refund_no", s.getStaffRefund)
	staff.POST("/refunds/:refund_no/accept", s.acceptRefund)
	staff.POST("/refunds/:refund_no/refuse", s.refuseRefund)
	staff.POST("/refunds/:refund_no/review", s.reviewRefund)
	staff.POST("/refunds/:refund_no/execute", s.executeRefund)
	staff.POST("/refunds/:refund_no/payouts/:payout_no/return-abnormal", s.returnAbnormalPayout)
}

func (s *Handlers) createRefund(c *gin.Context) {
	in := refunds.RefundInput{Person: people.PersonRef{Self: true}}
	s.Idempotent(c, "createRefund", &in, func() (int, any, error) {
		r, err := s.Svc.CreateRefund(c.Request.Context(), httpx.UserID(c), in)
		return http.StatusCreated, r, err
	})
}

func (s *Handlers) listRefunds(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListRefunds(c.Request.Context(), httpx.UserID(c), page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

// listRefundable is what the refund form offers for ?person=.
func (s *Handlers) listRefundable(c *gin.Context) {
	items, err := s.Svc.ListRefundable(c.Request.Context(), httpx.UserID(c), httpx.PersonQuery(c))
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *Handlers) getRefund(c *gin.Context) {
	r, err := s.Svc.GetRefund(c.Request.Context(), httpx.UserID(c), c.Param("refund_no"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// withdrawRefund is the applicant, or an owner of the money when someone
// else applied, withdrawing an application before money moves.
func (s *Handlers) withdrawRefund(c *gin.Context) {
	r, err := s.Svc.WithdrawRefund(c.Request.Context(), httpx.UserID(c), c.Param("refund_no"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}
