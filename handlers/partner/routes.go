package partner

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/kernel"
)

// maxReconBytes bounds a day's reconciliation file: the partner
// middleware's bound for this route (SetPartnerBodyLimit), checked here
// again for a mount without it.
const maxReconBytes = httpx.MaxPartnerBody

// Handlers serve the counters' routes.
type Handlers struct {
	*httpx.Kit
}

// Register registers the partner API on pv1 (/partner/v1, behind the
// partner authentication middleware) and the hall's payment routes on
// staffAuth (/api/v1/staff, behind a staff session).
func Register(k *httpx.Kit, pv1 *gin.RouterGroup, staffAuth *gin.RouterGroup) {
	s := &Handlers{Kit: k}
	pv1.POST("/payables/query", s.partnerQueryPayables)
	pv1.POST("/orders", s.partnerCreateOrder)
	pv1.POST("/orders/:order_no/confirm", s.partnerConfirmOrder)
	pv1.POST("/orders/:order_no/reverse", s.partnerReverseOrder)
	pv1.PUT("/reconciliation/:day", s.putPartnerReconciliation)
	k.SetPartnerBodyLimit(http.MethodPut, pv1.BasePath()+"/reconciliation/:day", httpx.MaxPartnerBody)
	pv1.GET("/reconciliation/:day", s.getPartnerReconciliation)

	staffAuth.POST("/hall/people/lookup", s.hallLookupPerson)
	staffAuth.POST("/hall/payments", s.hallCreatePayment)
}

// partner is the authenticated partner, or a refusal: a route mounted
// without the middleware must not act for nobody.
func (s *Handlers) partner(c *gin.Context) (kernel.PartnerActor, bool) {
	a, ok := httpx.PartnerActor(c)
	if !ok {
		s.Fail(c, models.ErrPartnerAuthFailed)
	}
	return a, ok
}

func (s *Handlers) partnerQueryPayables(c *gin.Context) {
	a, ok := s.partner(c)
	if !ok {
		return
	}
	var in counters.QueryInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.PartnerQueryPayables(c.Request.Context(), a, in)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) partnerCreateOrder(c *gin.Context) {
	a, ok := s.partner(c)
	if !ok {
		return
	}
	var in counters.CreateOrderInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, created, err := s.Svc.PartnerCreateOrder(c.Request.Context(), a, in)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.Render(c, status, v, err)
}

func (s *Handlers) partnerConfirmOrder(c *gin.Context) {
	a, ok := s.partner(c)
	if !ok {
		return
	}
	var in counters.ConfirmInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.PartnerConfirmOrder(c.Request.Context(), a, c.Param("order_no"), in)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) partnerReverseOrder(c *gin.Context) {
	a, ok := s.partner(c)
	if !ok {
		return
	}
	var in counters.ReverseInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.PartnerReverseOrder(c.Request.Context(), a, c.Param("order_no"), in)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) putPartnerReconciliation(c *gin.Context) {
	a, ok := s.partner(c)
	if !ok {
		return
	}
	if c.Request.ContentLength > maxReconBytes {
		s.Fail(c, models.ErrBodyTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxReconBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.Fail(c, models.ErrBodyTooLarge)
		return
	case err != nil:
		s.Fail(c, models.ErrInvalid.WithReason("请求体读取失败"))
		return
	}
	v, err := s.Svc.PutPartnerReconciliation(c.Request.Context(), a, c.Param("day"), body)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) getPartnerReconciliation(c *gin.Context) {
	a, ok := s.partner(c)
	if !ok {
		return
	}
	v, err := s.Svc.GetPartnerReconciliation(c.Request.Context(), a, c.Param("day"))
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) hallLookupPerson(c *gin.Context) {
	var in counters.HallLookupInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.HallLookupPerson(c.Request.Context(), httpx.StaffActor(c), in)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) hallCreatePayment(c *gin.Context) {
	var in counters.HallPaymentInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.HallCreatePayment(c.Request.Context(), httpx.StaffActor(c), in)
	s.Render(c, http.StatusCreated, v, err)
}
