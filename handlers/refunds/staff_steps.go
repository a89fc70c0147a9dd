package refunds

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/refunds"
)

func (s *Handlers) listStaffRefunds(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListStaffRefunds(c.Request.Context(), httpx.StaffActor(c), c.Query("status"), page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Handlers) getStaffRefund(c *gin.Context) {
	v, err := s.Svc.GetStaffRefund(c.Request.Context(), httpx.StaffActor(c), c.Param("refund_no"))
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) acceptRefund(c *gin.Context) {
	v, err := s.Svc.AcceptRefund(c.Request.Context(), httpx.StaffActor(c), c.Param("refund_no"))
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) refuseRefund(c *gin.Context) {
	var in struct {
		Reasons []string `json:"reasons"`
	}
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.RefuseRefund(c.Request.Context(), httpx.StaffActor(c), c.Param("refund_no"), in.Reasons)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) reviewRefund(c *gin.Context) {
	var in refunds.ReviewInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.ReviewRefund(c.Request.Context(), httpx.StaffActor(c), c.Param("refund_no"), in)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) executeRefund(c *gin.Context) {
	var in payouts.ExecuteInput
	if c.Request.ContentLength != 0 && !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.ExecuteRefund(c.Request.Context(), httpx.StaffActor(c), c.Param("refund_no"), in)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) returnAbnormalPayout(c *gin.Context) {
	v, err := s.Svc.ReturnAbnormalPayout(c.Request.Context(), httpx.StaffActor(c), c.Param("refund_no"), c.Param("payout_no"))
	s.Render(c, http.StatusOK, v, err)
}
