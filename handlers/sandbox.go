package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
)

func (s *Server) sandboxPay(c *gin.Context) {
	body := struct {
		Result  string `json:"result"`
		Deliver *bool  `json:"deliver"`
	}{Result: "success"}
	if c.Request.ContentLength != 0 && !s.BindJSON(c, &body) {
		return
	}
	if body.Result != "success" && body.Result != "fail" {
		s.Fail(c, models.ErrInvalid.WithReason(`result 应为 "success" 或 "fail"`))
		return
	}
	orderNo := c.Param("order_no")
	if body.Deliver != nil && !*body.Deliver {
		if body.Result != "success" {
			s.Fail(c, models.ErrInvalid.WithReason("支付失败不发送通知，无可暂存的通知"))
			return
		}
		n, err := s.Svc.SandboxPayHeld(c.Request.Context(), orderNo)
		if err != nil {
			s.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"order_no": orderNo, "result": body.Result, "notification": n})
		return
	}
	if err := s.Svc.SandboxPay(c.Request.Context(), orderNo, body.Result == "success"); err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"order_no": orderNo, "result": body.Result})
}

// sandboxCashierPage is what a browser opening cashier_url sees: a page
// with the two buttons a payer would have.
func (s *Server) sandboxCashierPage(c *gin.Context) {
	no := c.Param("order_no")
	if !httpx.ValidRequestID(no) { // order numbers are [A-Za-z0-9_-]; anything else never reaches the page
		s.Fail(c, models.ErrNotFound)
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

// sandboxLogins serves the fakes of the login channels: a tax APP token
// for a person, and 蒙速办's OpenID provider (discovery, authorize, token,
// jwks, userinfo) under SandboxOIDCPrefix.
func (s *Server) sandboxLogins(r *gin.Engine, taxapp TaxAppMinter, oidc http.Handler) {
	r.POST("/sandbox/taxapp/token", func(c *gin.Context) {
		var body struct {
			Subject  string `json:"subject"`
			Name     string `json:"name"`
			IDNumber string `json:"id_number"`
		}
		if !s.BindJSON(c, &body) {
			return
		}
		if taxapp == nil {
			s.Fail(c, models.ErrNotFound)
			return
		}
		if body.Subject == "" || len(body.Subject) > 64 || len(body.Name) > 64 || len(body.IDNumber) > 32 {
			s.Fail(c, models.ErrInvalid.WithReason("subject 不能为空且不超过64个字符"))
			return
		}
		tok, exp, err := taxapp.MintToken(body.Subject, body.Name, body.IDNumber)
		if err != nil {
			s.Fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, gin.H{"token": tok, "expires_at": exp})
	})
	h := func(c *gin.Context) {
		if oidc == nil {
			s.Fail(c, models.ErrNotFound)
			return
		}
		oidc.ServeHTTP(c.Writer, c.Request)
	}
	for _, p := range []string{"/.well-known/openid-configuration", "/authorize", "/jwks", "/userinfo"} {
		r.GET(SandboxOIDCPrefix+p, h)
	}
	r.POST(SandboxOIDCPrefix+"/token", h)
}
