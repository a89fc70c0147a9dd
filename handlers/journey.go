package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
)

// contribRoutes registers the payer's journey (auth): enrolment, payables,
// declarations, payments and records; and the payment channels'
// notifications (v1), which carry no session: the channel's signature is
// the proof.
func (s *Server) contribRoutes(v1, auth *gin.RouterGroup) {
	v1.POST("/notify/wechatpay", s.notify(models.ChannelWechat))
	v1.POST("/notify/alipay", s.notify(models.ChannelAlipay))
	v1.POST("/notify/sandbox", s.notify(models.ChannelSandbox))
	auth.GET("/enrolments", s.listEnrolments)
	auth.POST("/enrolments", s.createEnrolment)
	auth.POST("/payables/query", s.queryPayables)
	auth.POST("/declarations", s.createDeclaration)
	auth.GET("/declarations/:declaration_id", s.getDeclaration)
	auth.POST("/payments", s.createPayment)
	auth.GET("/payments", s.listPayments)
	auth.GET("/payments/:order_no", s.getPayment)
	auth.GET("/records", s.listRecords)
}

func (s *Server) listEnrolments(c *gin.Context) {
	items, err := s.svc.ListEnrolments(c.Request.Context(), userID(c), personQuery(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	page(s, c, items)
}

func (s *Server) createEnrolment(c *gin.Context) {
	in := contrib.EnrolInput{Person: people.PersonRef{Self: true}}
	if !s.bindJSON(c, &in) {
		return
	}
	e, err := s.svc.CreateEnrolment(c.Request.Context(), userID(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, e)
}

func (s *Server) queryPayables(c *gin.Context) {
	in := struct {
		Person people.PersonRef `json:"person"`
	}{Person: people.PersonRef{Self: true}}
	if !s.bindJSON(c, &in) {
		return
	}
	items, err := s.svc.QueryPayables(c.Request.Context(), userID(c), in.Person)
	if err != nil {
		s.fail(c, err)
		return
	}
	page(s, c, items)
}

func (s *Server) createDeclaration(c *gin.Context) {
	var in contrib.DeclareInput
	s.idempotent(c, "createDeclaration", &in, func() (int, any, error) {
		d, err := s.svc.CreateDeclaration(c.Request.Context(), userID(c), in)
		return http.StatusCreated, d, err
	})
}

func (s *Server) getDeclaration(c *gin.Context) {
	d, err := s.svc.GetDeclaration(c.Request.Context(), userID(c), c.Param("declaration_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) createPayment(c *gin.Context) {
	var in contrib.PayInput
	s.idempotent(c, "createPayment", &in, func() (int, any, error) {
		p, created, err := s.svc.CreatePayment(c.Request.Context(), session(c), in)
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return status, p, err
	})
}

func (s *Server) getPayment(c *gin.Context) {
	p, err := s.svc.GetPayment(c.Request.Context(), userID(c), c.Param("order_no"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// pageOf reads page_size (1–100, default 20) and page_token.
func pageOf(c *gin.Context) (kernel.Page, error) {
	p := kernel.Page{Size: 20, After: c.Query("page_token")}
	if p.After != "" && !validPageToken(p.After) {
		return p, errPageToken
	}
	if v := c.Query("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return p, models.ErrInvalid.WithReason("page_size 应为 1 到 100")
		}
		p.Size = n
	}
	return p, nil
}

func (s *Server) listPayments(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.svc.ListPayments(c.Request.Context(), userID(c), page)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Server) listRecords(c *gin.Context) {
	f := contrib.RecordFilter{Person: personQuery(c), Scheme: models.Scheme(c.Query("scheme"))}
	if f.Scheme != "" && !f.Scheme.Valid() {
		s.fail(c, models.ErrSchemeInvalid)
		return
	}
	if y := c.Query("year"); y != "" {
		v, err := strconv.Atoi(y)
		if err != nil || v < 1990 || v > 2100 {
			s.fail(c, models.ErrInvalid.WithReason("year 应为四位年份"))
			return
		}
		f.Year = v
	}
	items, err := s.svc.ListRecords(c.Request.Context(), userID(c), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	page(s, c, items)
}

// notify hands a channel's notification to the settlement workflow, which
// writes the channel's own acknowledgement. A rejected one (unsigned,
// unparsable) still gets the provider's failure answer, but is counted and
// logged at WARN: a stranger's POST must not page the on-call person.
func (s *Server) notify(channel string) gin.HandlerFunc {
	return func(c *gin.Context) {
		res, err := s.svc.ProcessNotification(c.Request.Context(), channel, c.Writer, c.Request)
		if err != nil {
			s.fail(c, err)
			return
		}
		s.metrics.notifications.WithLabelValues(channel, string(res)).Inc()
		if res == contrib.NotificationRejected {
			c.Set(quietFailureKey, true)
		}
	}
}

func (s *Server) sandboxPay(c *gin.Context) {
	body := struct {
		Result string `json:"result"`
	}{Result: "success"}
	if c.Request.ContentLength != 0 && !s.bindJSON(c, &body) {
		return
	}
	if body.Result != "success" && body.Result != "fail" {
		s.fail(c, models.ErrInvalid.WithReason(`result 应为 "success" 或 "fail"`))
		return
	}
	orderNo := c.Param("order_no")
	if err := s.svc.SandboxPay(c.Request.Context(), orderNo, body.Result == "success"); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"order_no": orderNo, "result": body.Result})
}

// sandboxCashierPage is what a browser opening cashier_url sees: a page
// with the two buttons a payer would have.
func (s *Server) sandboxCashierPage(c *gin.Context) {
	no := c.Param("order_no")
	if !validRequestID(no) { // order numbers are [A-Za-z0-9_-]; anything else never reaches the page
		s.fail(c, models.ErrNotFound)
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.String(http.StatusOK, `<!doctype html><meta charset="utf-8"><title>沙箱收银台</title>
<h1>沙箱收银台</h1><p>订单号 <code id="no"></code></p>
<button onclick="pay('success')">确认支付</button> <button onclick="pay('fail')">支付失败</button><p id="r"></p>
<script>const no=%q;document.getElementById('no').textContent=no;
function pay(r){fetch(location.pathname,{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({result:r})})
.then(x=>x.json()).then(j=>document.getElementById('r').textContent=JSON.stringify(j))}</script>`, no)
}
