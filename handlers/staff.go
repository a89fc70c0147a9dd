package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/refunds"
)

// staffKey carries the staff actor; a type of its own, so nothing of the
// citizen session can be mistaken for it.
type staffKey struct{}

type staffTokenKey struct{}

// staffRoutes registers the hall's own routes under /api/v1/staff: staff
// login (on st) and, under a staff session (a), the staff's session,
// password, accounts and the audit log.
func (s *Server) staffRoutes(st, a *gin.RouterGroup) {
	st.POST("/sessions", s.limit("staff-login", s.svc.Options().LoginRateLimit, time.Minute, kernel.CountInDB), s.loginStaff)
	a.DELETE("/sessions/current", s.logoutStaff)
	a.GET("/me", s.getStaffMe)
	a.POST("/me/password", s.changeStaffPassword)
	a.GET("/accounts", s.listStaffAccounts)
	a.POST("/accounts", s.createStaffAccount)
	a.POST("/accounts/:staff_id/disable", s.disableStaffAccount)
	a.POST("/accounts/:staff_id/reset", s.resetStaffAccount)
	a.GET("/audit", s.listAuditLog)
	a.GET("/audit/export", s.exportAuditLog)
}

// noStore keeps staff answers (one-time passwords, personal data) out of
// caches.
func noStore() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.Next()
	}
}

func requestMeta(c *gin.Context) kernel.RequestMeta {
	return kernel.RequestMeta{ClientIP: c.ClientIP(), PeerIP: c.RemoteIP(), RequestID: requestID(c)}
}

// staffAuthenticated requires a live staff session.
func (s *Server) staffAuthenticated() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			s.fail(c, models.ErrUnauthenticated)
			return
		}
		a, err := s.svc.AuthenticateStaff(c.Request.Context(), token, requestMeta(c))
		if err != nil {
			s.fail(c, err)
			return
		}
		ctx := context.WithValue(c.Request.Context(), staffKey{}, a)
		ctx = context.WithValue(ctx, staffTokenKey{}, token)
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

func staffActor(c *gin.Context) kernel.StaffActor {
	a, _ := c.Request.Context().Value(staffKey{}).(kernel.StaffActor)
	return a
}

func (s *Server) loginStaff(c *gin.Context) {
	var in hall.StaffLoginInput
	if !s.bindJSON(c, &in) {
		return
	}
	res, err := s.svc.LoginStaff(c.Request.Context(), in, requestMeta(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, res)
}

func (s *Server) logoutStaff(c *gin.Context) {
	token, _ := c.Request.Context().Value(staffTokenKey{}).(string)
	if err := s.svc.LogoutStaff(c.Request.Context(), staffActor(c), token); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) getStaffMe(c *gin.Context) {
	v, err := s.svc.StaffMe(c.Request.Context(), staffActor(c))
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) listStaffRefunds(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.svc.ListStaffRefunds(c.Request.Context(), staffActor(c), c.Query("status"), page)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Server) getStaffRefund(c *gin.Context) {
	v, err := s.svc.GetStaffRefund(c.Request.Context(), staffActor(c), c.Param("refund_no"))
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) acceptRefund(c *gin.Context) {
	v, err := s.svc.AcceptRefund(c.Request.Context(), staffActor(c), c.Param("refund_no"))
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) refuseRefund(c *gin.Context) {
	var in struct {
		Reasons []string `json:"reasons"`
	}
	if !s.bindJSON(c, &in) {
		return
	}
	v, err := s.svc.RefuseRefund(c.Request.Context(), staffActor(c), c.Param("refund_no"), in.Reasons)
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) reviewRefund(c *gin.Context) {
	var in refunds.ReviewInput
	if !s.bindJSON(c, &in) {
		return
	}
	v, err := s.svc.ReviewRefund(c.Request.Context(), staffActor(c), c.Param("refund_no"), in)
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) executeRefund(c *gin.Context) {
	var in payouts.ExecuteInput
	if c.Request.ContentLength != 0 && !s.bindJSON(c, &in) {
		return
	}
	v, err := s.svc.ExecuteRefund(c.Request.Context(), staffActor(c), c.Param("refund_no"), in)
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) returnAbnormalPayout(c *gin.Context) {
	v, err := s.svc.ReturnAbnormalPayout(c.Request.Context(), staffActor(c), c.Param("refund_no"), c.Param("payout_no"))
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) listStaffAccounts(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.svc.ListStaffAccounts(c.Request.Context(), staffActor(c), page)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Server) createStaffAccount(c *gin.Context) {
	var in hall.StaffAccountInput
	if !s.bindJSON(c, &in) {
		return
	}
	v, err := s.svc.CreateStaffAccount(c.Request.Context(), staffActor(c), in)
	s.render(c, http.StatusCreated, v, err)
}

func (s *Server) disableStaffAccount(c *gin.Context) {
	v, err := s.svc.DisableStaffAccount(c.Request.Context(), staffActor(c), c.Param("staff_id"))
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) resetStaffAccount(c *gin.Context) {
	v, err := s.svc.ResetStaffAccount(c.Request.Context(), staffActor(c), c.Param("staff_id"))
	s.render(c, http.StatusOK, v, err)
}

// auditFilter reads the audit log's filters; from and to are RFC 3339
// times or Beijing dates (YYYY-MM-DD; "to" then includes that day).
func auditFilter(c *gin.Context) (hall.AuditFilter, error) {
	f := hall.AuditFilter{Username: c.Query("username"), StaffID: c.Query("staff_id"), Action: c.Query("action"),
		TargetID: c.Query("target_id"), Outcome: c.Query("outcome")}
	parse := func(name string, endOfDay bool) (time.Time, error) {
		v := c.Query(name)
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		d, err := time.ParseInLocation("2006-01-02", v, models.Beijing)
		if err != nil {
			return time.Time{}, models.ErrInvalid.WithReason(name + " 应为 RFC 3339 时间或 YYYY-MM-DD 日期")
		}
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	var err error
	if f.From, err = parse("from", false); err != nil {
		return f, err
	}
	if f.To, err = parse("to", true); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) listAuditLog(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f, err := auditFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.svc.ListAudit(c.Request.Context(), staffActor(c), f, page)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

// csvWriter sends the CSV headers with the first byte, so an error before
// any output can still be answered as JSON.
type csvWriter struct {
	c       *gin.Context
	started bool
}

func (w *csvWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		w.c.Header("Content-Type", "text/csv; charset=utf-8")
		w.c.Header("Content-Disposition", `attachment; filename="lianban-audit.csv"`)
		w.c.Status(http.StatusOK)
	}
	return w.c.Writer.Write(p)
}

func (s *Server) exportAuditLog(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	w := &csvWriter{c: c}
	if err := s.svc.ExportAudit(c.Request.Context(), staffActor(c), f, w); err != nil {
		if !w.started {
			s.fail(c, err)
			return
		}
		s.log.ErrorContext(c.Request.Context(), "audit export cut short", "request_id", requestID(c), "err", err)
	}
}

func (s *Server) changeStaffPassword(c *gin.Context) {
	var in hall.ChangePasswordInput
	if !s.bindJSON(c, &in) {
		return
	}
	if err := s.svc.ChangeStaffPassword(c.Request.Context(), staffActor(c), in); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
