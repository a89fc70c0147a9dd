package contrib

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
)

// Handlers serve the contribution routes. Shared plumbing (error rendering, body
// decoding, idempotency, sessions) is httpx.Kit's.
type Handlers struct {
	*httpx.Kit
}

// Register registers the payer's journey (auth): enrolment, payables,
// declarations, payments and records; and the payment channels'
// notifications (v1), which carry no session: the channel's signature is
// the proof.
func Register(k *httpx.Kit, v1, auth *gin.RouterGroup) {
	s := &Handlers{Kit: k}
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
	// The cached reads a phone polls read their cache entry with the
	// session, in one round trip (httpx.Kit.SetPrefetch).
	k.SetPrefetch("/api/v1/payments/:order_no", func(c *gin.Context, personID string) []string {
		if personID == "" {
			return nil // a session this instance has not seen verified: read after it
		}
		return contrib.PaymentPrefetch(c.Param("order_no"))
	})
	k.SetPrefetch("/api/v1/payables/query", func(c *gin.Context, personID string) []string {
		if personID == "" {
			return nil
		}
		body, ok := httpx.PeekBody(c)
		in := payablesQuery{Person: people.PersonRef{Self: true}}
		if !ok || (len(body) > 0 && json.Unmarshal(body, &in) != nil) || !in.Person.Self {
			return nil
		}
		return contrib.PayablesPrefetch(personID)
	})
	k.SetPrefetch("/api/v1/records", func(c *gin.Context, personID string) []string {
		f, page, err := recordsQuery(c)
		if err != nil || personID == "" || !f.Person.Self {
			return nil
		}
		return contrib.RecordsPrefetch(personID, f, page)
	})
}

func (s *Handlers) listEnrolments(c *gin.Context) {
	items, err := s.Svc.ListEnrolments(c.Request.Context(), httpx.UserID(c), httpx.PersonQuery(c))
	if err != nil {
		s.Fail(c, err)
		return
	}
	httpx.Page(s.Kit, c, items)
}

func (s *Handlers) createEnrolment(c *gin.Context) {
	in := contrib.EnrolInput{Person: people.PersonRef{Self: true}}
	if !s.BindJSON(c, &in) {
		return
	}
	e, err := s.Svc.CreateEnrolment(c.Request.Context(), httpx.UserID(c), in)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, e)
}

// payablesQuery is queryPayables' body.
type payablesQuery struct {
	Person people.PersonRef `json:"person"`
}

func (s *Handlers) queryPayables(c *gin.Context) {
	in := payablesQuery{Person: people.PersonRef{Self: true}}
	if !s.BindJSON(c, &in) {
		return
	}
	items, err := s.Svc.QueryPayables(c.Request.Context(), httpx.UserID(c), in.Person)
	if err != nil {
		s.Fail(c, err)
		return
	}
	httpx.Page(s.Kit, c, items)
}

func (s *Handlers) createDeclaration(c *gin.Context) {
	var in contrib.DeclareInput
	s.Idempotent(c, "createDeclaration", &in, func() (int, any, error) {
		d, err := s.Svc.CreateDeclaration(c.Request.Context(), httpx.UserID(c), in)
		return http.StatusCreated, d, err
	})
}

func (s *Handlers) getDeclaration(c *gin.Context) {
	d, err := s.Svc.GetDeclaration(c.Request.Context(), httpx.UserID(c), c.Param("declaration_id"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Handlers) createPayment(c *gin.Context) {
	var in contrib.PayInput
	s.Idempotent(c, "createPayment", &in, func() (int, any, error) {
		p, created, err := s.Svc.CreatePayment(c.Request.Context(), httpx.Session(c), in)
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return status, p, err
	})
}

func (s *Handlers) getPayment(c *gin.Context) {
	// A settled order's view is served as cached, already encoded.
	if b, ok := s.Svc.CachedPaymentJSON(c.Request.Context(), httpx.UserID(c), c.Param("order_no")); ok {
		c.Data(http.StatusOK, "application/json; charset=utf-8", b)
		return
	}
	p, err := s.Svc.GetPayment(c.Request.Context(), httpx.UserID(c), c.Param("order_no"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *Handlers) listPayments(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	var items []contrib.Payment
	var next string
	if c.Query("person") != "" {
		items, next, err = s.Svc.ListPaymentsFor(c.Request.Context(), httpx.UserID(c), httpx.PersonQuery(c), page)
	} else {
		items, next, err = s.Svc.ListPayments(c.Request.Context(), httpx.UserID(c), page)
	}
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Handlers) listRecords(c *gin.Context) {
	f, page, err := recordsQuery(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	body, err := s.Svc.ListRecordsPageJSON(c.Request.Context(), httpx.UserID(c), f, page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// recordsQuery is listRecords' filter and page, from the query string.
func recordsQuery(c *gin.Context) (contrib.RecordFilter, kernel.Page, error) {
	f := contrib.RecordFilter{Person: httpx.PersonQuery(c), Scheme: models.Scheme(c.Query("scheme"))}
	if f.Scheme != "" && !f.Scheme.Valid() {
		return f, kernel.Page{}, models.ErrSchemeInvalid
	}
	if y := c.Query("year"); y != "" {
		v, err := strconv.Atoi(y)
		if err != nil || v < 1990 || v > 2100 {
			return f, kernel.Page{}, models.ErrInvalid.WithReason("year 应为四位年份")
		}
		f.Year = v
	}
	page, err := httpx.PageSized(c, contrib.RecordsPageDefault, contrib.RecordsPageMax)
	return f, page, err
}

// notify hands a channel's notification to the settlement workflow, which
// writes the channel's own acknowledgement. A rejected one (unsigned,
// unparsable) still gets the provider's failure answer, but is counted and
// logged at WARN: a stranger's POST must not page the on-call person.
func (s *Handlers) notify(channel string) gin.HandlerFunc {
	return func(c *gin.Context) {
		res, err := s.Svc.ProcessNotification(c.Request.Context(), channel, c.Writer, c.Request)
		if err != nil {
			s.Fail(c, err)
			return
		}
		s.Metrics.Notifications.WithLabelValues(channel, string(res)).Inc()
		if res == contrib.NotificationRejected {
			c.Set(httpx.QuietFailureKey, true)
		}
	}
}
