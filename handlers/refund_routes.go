package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
)

// refundRoutes registers the refund routes: the applicant's under the
// citizen session (auth), the hall's steps under a staff session (staff).
func (s *Server) refundRoutes(auth, staff *gin.RouterGroup) {
	auth.POST("/refunds", s.createRefund)
	auth.GET("/refunds", s.listRefunds)
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

func (s *Server) createRefund(c *gin.Context) {
	in := refunds.RefundInput{Person: people.PersonRef{Self: true}}
	s.idempotent(c, "createRefund", &in, func() (int, any, error) {
		r, err := s.svc.CreateRefund(c.Request.Context(), userID(c), in)
		return http.StatusCreated, r, err
	})
}

func (s *Server) listRefunds(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.svc.ListRefunds(c.Request.Context(), userID(c), page)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Server) getRefund(c *gin.Context) {
	r, err := s.svc.GetRefund(c.Request.Context(), userID(c), c.Param("refund_no"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// withdrawRefund is the applicant, or an owner of the money when someone
// else applied, withdrawing an application before money moves.
func (s *Server) withdrawRefund(c *gin.Context) {
	r, err := s.svc.WithdrawRefund(c.Request.Context(), userID(c), c.Param("refund_no"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (s *Server) listMessages(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.svc.ListMessages(c.Request.Context(), userID(c), page)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}
