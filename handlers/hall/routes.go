package hall

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
)

// Handlers serve the hall's own routes. Shared plumbing (error rendering, body
// decoding, idempotency, sessions) is httpx.Kit's.
type Handlers struct {
	*httpx.Kit
}

// Register registers the hall's own routes under /api/v1/staff: staff
// login (on st) and, under a staff session (a), the staff's session,
// password, accounts and the audit log.
func Register(k *httpx.Kit, st, a *gin.RouterGroup) {
	s := &Handlers{Kit: k}
	st.POST("/sessions", s.Limit("staff-login", s.Svc.Options().LoginRateLimit, time.Minute, kernel.CountInDB), s.loginStaff)
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

func (s *Handlers) loginStaff(c *gin.Context) {
	var in hall.StaffLoginInput
	if !s.BindJSON(c, &in) {
		return
	}
	res, err := s.Svc.LoginStaff(c.Request.Context(), in, httpx.RequestMeta(c))
	if err != nil {
		s.Fail(c, err)
		return
	}
	if in.Cookie {
		// The console's session: the token goes into the HttpOnly cookie
		// and not into the body the script reads. A session this browser
		// held before (a reload forgets its CSRF token) ends now.
		if old := httpx.StaffCookieToken(c); old != "" {
			s.Svc.DropStaffSession(c.Request.Context(), old)
		}
		httpx.SetStaffCookie(c, res.Token)
		res.Token = ""
	}
	c.JSON(http.StatusCreated, res)
}

func (s *Handlers) logoutStaff(c *gin.Context) {
	token := httpx.StaffToken(c)
	if err := s.Svc.LogoutStaff(c.Request.Context(), httpx.StaffActor(c), token); err != nil {
		s.Fail(c, err)
		return
	}
	if httpx.StaffByCookie(c) {
		httpx.ClearStaffCookie(c)
	}
	c.Status(http.StatusNoContent)
}

func (s *Handlers) getStaffMe(c *gin.Context) {
	v, err := s.Svc.StaffMe(c.Request.Context(), httpx.StaffActor(c))
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) listStaffAccounts(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListStaffAccounts(c.Request.Context(), httpx.StaffActor(c), page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Handlers) createStaffAccount(c *gin.Context) {
	var in hall.StaffAccountInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.CreateStaffAccount(c.Request.Context(), httpx.StaffActor(c), in)
	s.Render(c, http.StatusCreated, v, err)
}

func (s *Handlers) disableStaffAccount(c *gin.Context) {
	v, err := s.Svc.DisableStaffAccount(c.Request.Context(), httpx.StaffActor(c), c.Param("staff_id"))
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) resetStaffAccount(c *gin.Context) {
	v, err := s.Svc.ResetStaffAccount(c.Request.Context(), httpx.StaffActor(c), c.Param("staff_id"))
	s.Render(c, http.StatusOK, v, err)
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

func (s *Handlers) listAuditLog(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	f, err := auditFilter(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListAudit(c.Request.Context(), httpx.StaffActor(c), f, page)
	if err != nil {
		s.Fail(c, err)
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

func (s *Handlers) exportAuditLog(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	w := &csvWriter{c: c}
	if err := s.Svc.ExportAudit(c.Request.Context(), httpx.StaffActor(c), f, w); err != nil {
		if !w.started {
			s.Fail(c, err)
			return
		}
		s.Log.ErrorContext(c.Request.Context(), "audit export cut short", "request_id", httpx.RequestID(c), "err", err)
	}
}

func (s *Handlers) changeStaffPassword(c *gin.Context) {
	var in hall.ChangePasswordInput
	if !s.BindJSON(c, &in) {
		return
	}
	if err := s.Svc.ChangeStaffPassword(c.Request.Context(), httpx.StaffActor(c), in); err != nil {
		s.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
