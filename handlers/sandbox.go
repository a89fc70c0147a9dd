package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
)

func (s *Server) sandboxPay(c *gin.Context) {
	body := struct {
		Result string `json:"result"`
	}{Result: "success"}
	if c.Request.ContentLength != 0 && !s.BindJSON(c, &body) {
		return
	}
	if body.Result != "success" && body.Result != "fail" {
		s.Fail(c, models.ErrInvalid.WithReason(`result 应为 "success" 或 "fail"`))
		return
	}
	orderNo := c.Param("order_no")
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
