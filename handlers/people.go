package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/people"
)

// login handles loginWechat, loginAlipay, loginTaxApp and loginMengsuban:
// each takes its platform's one-time code under its own field name.
// peopleRoutes registers logins (on login, which carries their rate
// limit) and the routes of the signed-in user (auth): their session,
// identity, family, grants, guardians and messages.
func (s *Server) peopleRoutes(login, auth *gin.RouterGroup) {
	login.POST("/wechat", s.login(models.ChannelWechat, "code"))
	login.POST("/alipay", s.login(models.ChannelAlipay, "auth_code"))
	login.POST("/taxapp", s.login(models.ChannelTaxApp, "app_token"))
	login.POST("/mengsuban", s.login(models.ChannelMengsuban, "code"))
	if s.sandbox {
		login.POST("/sandbox", s.loginSandbox)
	}
	auth.DELETE("/sessions/current", s.logout)
	auth.GET("/me", s.getMe)
	auth.POST("/me/identity", s.verifyIdentity)
	auth.GET("/me/family", s.listFamily)
	auth.POST("/me/family", s.addFamilyMember)
	auth.DELETE("/me/family/:member_id", s.removeFamilyMember)
	auth.GET("/me/grants", s.listGrants)
	auth.POST("/me/grants", s.grantRecordsAccess)
	auth.DELETE("/me/grants/:grant_id", s.revokeGrant)
	s.guardianRoutes(auth)
	auth.GET("/me/messages", s.listMessages)
}

func (s *Server) login(channel, field string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body map[string]string
		if !s.bindJSON(c, &body) {
			return
		}
		res, err := s.svc.Login(c.Request.Context(), channel, body[field])
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, res)
	}
}

func (s *Server) loginSandbox(c *gin.Context) {
	var body struct {
		Subject string `json:"subject"`
	}
	if !s.bindJSON(c, &body) {
		return
	}
	res, err := s.svc.LoginSandbox(c.Request.Context(), body.Subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, res)
}

func (s *Server) logout(c *gin.Context) {
	token := sessionToken(c)
	if err := s.svc.Logout(c.Request.Context(), token); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) getMe(c *gin.Context) {
	u, err := s.svc.Me(c.Request.Context(), userID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *Server) verifyIdentity(c *gin.Context) {
	var in people.IdentityInput
	if !s.bindJSON(c, &in) {
		return
	}
	u, err := s.svc.VerifyIdentity(c.Request.Context(), userID(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *Server) listFamily(c *gin.Context) {
	items, err := s.svc.ListFamily(c.Request.Context(), userID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	page(s, c, items)
}

func (s *Server) addFamilyMember(c *gin.Context) {
	var in people.FamilyInput
	if !s.bindJSON(c, &in) {
		return
	}
	m, err := s.svc.AddFamilyMember(c.Request.Context(), userID(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}

func (s *Server) removeFamilyMember(c *gin.Context) {
	if err := s.svc.RemoveFamilyMember(c.Request.Context(), userID(c), c.Param("member_id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) grantRecordsAccess(c *gin.Context) {
	var in people.GrantInput
	if !s.bindJSON(c, &in) {
		return
	}
	g, err := s.svc.GrantRecordsAccess(c.Request.Context(), userID(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, g)
}

func (s *Server) listGrants(c *gin.Context) {
	items, err := s.svc.ListGrants(c.Request.Context(), userID(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	page(s, c, items)
}

func (s *Server) revokeGrant(c *gin.Context) {
	if err := s.svc.RevokeGrant(c.Request.Context(), userID(c), c.Param("grant_id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// personQuery reads ?person= (self or a member id).
func personQuery(c *gin.Context) people.PersonRef {
	return people.ParsePersonRef(strings.TrimSpace(c.Query("person")))
}
