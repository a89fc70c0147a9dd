package units

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/service/unitpay"
)

// registerPay registers 三方协议 agreements, unit payments (三方协议,
// 银行端凭证, POS) and the bank's notifications.
func (s *Handlers) registerPay(v1, auth, staffAuth *gin.RouterGroup) {
	auth.POST("/units/:unit_id/agreements", s.addTripartiteAgreement)
	auth.GET("/units/:unit_id/agreements", s.listTripartiteAgreements)
	auth.POST("/units/:unit_id/payments", s.createUnitPayment)
	auth.GET("/units/:unit_id/payments", s.listUnitPayments)
	auth.GET("/units/:unit_id/payments/:order_no", s.getUnitPayment)
	auth.GET("/units/:unit_id/payments/:order_no/voucher.pdf", s.downloadUnitVoucher)
	v1.POST("/notify/bank-debit", s.notifyBankDebit)
	staffAuth.POST("/unit-payments/:order_no/pos-confirm", s.confirmUnitPOS)
}

func (s *Handlers) addTripartiteAgreement(c *gin.Context) {
	var in unitpay.AgreementInput
	s.unitIdempotent(c, "unitAgreement", &in, func() (int, any, error) {
		a, err := s.Svc.AddTripartiteAgreement(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), in)
		return http.StatusCreated, a, err
	})
}

func (s *Handlers) listTripartiteAgreements(c *gin.Context) {
	items, err := s.Svc.ListTripartiteAgreements(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	httpx.Page(s.Kit, c, items)
}

func (s *Handlers) createUnitPayment(c *gin.Context) {
	var in unitpay.PaymentInput
	s.unitIdempotent(c, "unitPayment", &in, func() (int, any, error) {
		p, created, err := s.Svc.CreateUnitPayment(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), in)
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return status, p, err
	})
}

func (s *Handlers) listUnitPayments(c *gin.Context) {
	// page_size as the contract has it (PageSize: 1–100, default 20);
	// the offset pages this list used to have were 50, up to 200.
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListUnitPayments(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Handlers) getUnitPayment(c *gin.Context) {
	p, err := s.Svc.GetUnitPayment(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), c.Param("order_no"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *Handlers) downloadUnitVoucher(c *gin.Context) {
	pdf, no, err := s.Svc.UnitVoucherPDF(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), c.Param("order_no"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	httpx.Download(c, no+".pdf", "application/pdf", pdf)
}

// notifyBankDebit hands the bank's debit notice to the workflow, which
// answers the bank itself. A rejected one is logged quietly: anyone can
// POST here.
func (s *Handlers) notifyBankDebit(c *gin.Context) {
	res := s.Svc.HandleBankDebitNotice(c.Request.Context(), c.Writer, c.Request)
	s.Metrics.Notifications.WithLabelValues("bank_debit", string(res)).Inc()
	if res == unitpay.NoticeRejected {
		c.Set(httpx.QuietFailureKey, true)
	}
}

func (s *Handlers) confirmUnitPOS(c *gin.Context) {
	var in unitpay.POSConfirmInput
	if !s.BindJSON(c, &in) {
		return
	}
	p, err := s.Svc.ConfirmUnitPOS(c.Request.Context(), s.Svc.Hall, httpx.StaffActor(c), c.Param("order_no"), in)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}
