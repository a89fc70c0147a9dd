package people

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/service/people"
)

// guardianRoutes are a registry-proven guardian's: seeing a minor's
// guardians and letting another person share the guardianship (consent),
// or ending such a consent.
func (s *Handlers) guardianRoutes(auth *gin.RouterGroup) {
	auth.GET("/me/family/:member_id/guardians", s.listGuardians)
	auth.POST("/me/family/:member_id/guardians", s.consentGuardian)
	auth.DELETE("/me/family/:member_id/guardians/:guardian_id", s.revokeGuardian)
}

func (s *Handlers) listGuardians(c *gin.Context) {
	items, err := s.Svc.ListGuardians(c.Request.Context(), httpx.UserID(c), c.Param("member_id"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	httpx.Page(s.Kit, c, items)
}

func (s *Handlers) consentGuardian(c *gin.Context) {
	var in people.GuardianConsentInput
	if !s.BindJSON(c, &in) {
		return
	}
	g, err := s.Svc.ConsentGuardian(c.Request.Context(), httpx.UserID(c), c.Param("member_id"), in)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, g)
}

func (s *Handlers) revokeGuardian(c *gin.Context) {
	if err := s.Svc.RevokeGuardian(c.Request.Context(), httpx.UserID(c), c.Param("member_id"), c.Param("guardian_id")); err != nil {
		s.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
