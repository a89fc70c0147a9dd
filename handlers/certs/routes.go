package certs

import (
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/certs"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
)

// Verification limits per client address: enough for a bank clerk
// checking documents all day, far too few to guess a 40-bit code.
const (
	verifyPerMinute = 20
	verifyPerDay    = 1000
)

// Handlers serve the certificate routes. Shared plumbing (error rendering, body
// decoding, idempotency, sessions) is httpx.Kit's.
type Handlers struct {
	*httpx.Kit
	// verifyPage renders certificate verification for browsers.
	verifyPage *template.Template
}

// Register registers the certificate routes: issuing, listing and
// downloading for the people concerned (auth), and the public
// verification a bank or an employer uses (v1).
func Register(k *httpx.Kit, v1, auth *gin.RouterGroup) {
	s := &Handlers{Kit: k, verifyPage: newVerifyPage()}
	// These let requests through while Redis is down: a bank clerk must
	// still be able to check a document, and a 40-bit code takes years of
	// guessing at any rate a server answers, far longer than an outage.
	v1.GET("/certificates/verify",
		s.Limit("cert-verify", verifyPerMinute, time.Minute, kernel.LetThrough),
		s.Limit("cert-verify-day", verifyPerDay, 24*time.Hour, kernel.LetThrough),
		s.verifyCertificate)
	auth.POST("/certificates", s.issueCertificate)
	auth.GET("/certificates", s.listCertificates)
	auth.GET("/certificates/:certificate_no/pdf", s.downloadCertificate)
}

func (s *Handlers) issueCertificate(c *gin.Context) {
	in := certs.IssueCertificateInput{Person: people.PersonRef{Self: true}}
	if !s.BindJSON(c, &in) {
		return
	}
	cert, err := s.Svc.IssueCertificate(c.Request.Context(), httpx.UserID(c), in)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/certificates/"+cert.CertificateNo+"/pdf")
	c.JSON(http.StatusCreated, cert)
}

func (s *Handlers) listCertificates(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListCertificates(c.Request.Context(), httpx.UserID(c), page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Handlers) downloadCertificate(c *gin.Context) {
	pdf, no, err := s.Svc.DownloadCertificate(c.Request.Context(), httpx.UserID(c), c.Param("certificate_no"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	httpx.Download(c, no+".pdf", "application/pdf", pdf)
}

func (s *Handlers) verifyCertificate(c *gin.Context) {
	no, code := c.Query("no"), c.Query("code")
	if no == "" || code == "" {
		s.Fail(c, models.ErrInvalid.WithReason("请提供证明编号 no 和验证码 code"))
		return
	}
	v, err := s.Svc.VerifyCertificate(c.Request.Context(), no, code)
	if err != nil {
		s.Fail(c, err)
		return
	}
	// A verification must be fresh: a revocation shows at once.
	c.Header("Cache-Control", "no-store")
	// A browser that opened the QR code gets a page; programs get JSON.
	if c.NegotiateFormat(gin.MIMEJSON, gin.MIMEHTML) == gin.MIMEHTML {
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.Status(http.StatusOK)
		if err := s.verifyPage.Execute(c.Writer, v); err != nil {
			s.Log.ErrorContext(c.Request.Context(), "verify page", "request_id", httpx.RequestID(c), "err", err)
		}
		return
	}
	c.JSON(http.StatusOK, v)
}
