// Package partneradmin serves the admin staff's management of the counter
// API's partners: list, create (with the first key), rotate and retire
// keys, disable and enable. The rules (admin only, audited, secrets shown
// once) are service/partners'; the handlers are thin.
package partneradmin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/service/partners"
)

// Handlers serve the partner administration routes.
type Handlers struct {
	*httpx.Kit
}

// Register registers the routes on a, the staff-session group of
// /api/v1/staff (whose answers are never cached: a key's secret is in
// two of them).
func Register(k *httpx.Kit, a *gin.RouterGroup) {
	s := &Handlers{Kit: k}
	a.GET("/partners", s.listPartners)
	a.POST("/partners", s.createPartner)
	a.POST("/partners/:partner_id/keys", s.rotatePartnerKey)
	a.DELETE("/partners/:partner_id/keys/:key_id", s.retirePartnerKey)
	a.POST("/partners/:partner_id/disable", s.disablePartner)
	a.POST("/partners/:partner_id/enable", s.enablePartner)
}

func (s *Handlers) listPartners(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListPartners(c.Request.Context(), httpx.StaffActor(c), page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Handlers) createPartner(c *gin.Context) {
	var in partners.PartnerInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.CreatePartner(c.Request.Context(), httpx.StaffActor(c), in)
	s.Render(c, http.StatusCreated, v, err)
}

func (s *Handlers) rotatePartnerKey(c *gin.Context) {
	v, err := s.Svc.RotatePartnerKey(c.Request.Context(), httpx.StaffActor(c), c.Param("partner_id"))
	s.Render(c, http.StatusCreated, v, err)
}

func (s *Handlers) retirePartnerKey(c *gin.Context) {
	v, err := s.Svc.RetirePartnerKey(c.Request.Context(), httpx.StaffActor(c), c.Param("partner_id"), c.Param("key_id"))
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) disablePartner(c *gin.Context) {
	v, err := s.Svc.SetPartnerStatus(c.Request.Context(), httpx.StaffActor(c), c.Param("partner_id"), false)
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) enablePartner(c *gin.Context) {
	v, err := s.Svc.SetPartnerStatus(c.Request.Context(), httpx.StaffActor(c), c.Param("partner_id"), true)
	s.Render(c, http.StatusOK, v, err)
}
