package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/service/people"
)

// guardianRoutes are a registry-proven guardian's: seeing a minor's
// guardians and letting another person share the guardianship (consent),
// or ending such a consent.
func (s *Server) guardianRoutes(auth *gin.RouterGroup) {
	auth.GET("/me/family/:member_id/guardians", s.listGuardians)
	auth.POST("/me/family/:member_id/guardians", s.consentGuardian)
	auth.DELETE("/me/family/:member_id/guardians/:guardian_id", s.revokeGuardian)
}

func (s *Server) listGuardians(c *gin.Context) {
	items, err := s.svc.ListGuardians(c.Request.Context(), userID(c), c.Param("member_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	page(s, c, items)
}

func (s *Server) consentGuardian(c *gin.Context) {
	var in people.GuardianConsentInput
	if !s.bindJSON(c, &in) {
		return
	}
	g, err := s.svc.ConsentGuardian(c.Request.Context(), userID(c), c.Param("member_id"), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, g)
}

func (s *Server) revokeGuardian(c *gin.Context) {
	if err := s.svc.RevokeGuardian(c.Request.Context(), userID(c), c.Param("member_id"), c.Param("guardian_id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
