package people

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/people"
)

// login handles loginWechat, loginAlipay and loginTaxApp: each takes its
// platform's one-time code (or token) under its own field name.
// loginMengsuban is a code with its state and PKCE verifier
// (loginWithCode), loginWechatWeb a code with its state (loginWithState),
// loginAlipayWeb Alipay's auth_code with its state (loginAlipayWeb).
// Handlers serve the people routes. Shared plumbing (error rendering, body
// decoding, idempotency, sessions) is httpx.Kit's.
type Handlers struct {
	*httpx.Kit
}

// Register registers logins (on login, which carries their rate limit;
// the sandbox login only in sandbox mode) and the routes of the signed-in
// user (auth): their session, identity, family, grants, guardians and
// messages.
func Register(k *httpx.Kit, login, auth *gin.RouterGroup, sandbox bool) {
	s := &Handlers{Kit: k}
	login.POST("/wechat", s.login(models.ChannelWechat, "code"))
	login.POST("/wechat-web/authorize", s.startRedirectLogin(models.ChannelWechatWeb))
	login.POST("/wechat-web", s.loginWithState(models.ChannelWechatWeb))
	login.POST("/alipay", s.login(models.ChannelAlipay, "auth_code"))
	// Alipay's H5 pages: the same application's users (channel alipay),
	// but their code comes back through a browser redirect, so only with
	// the state this server issued (login CSRF). The mini-program's
	// my.getAuthCode has no redirect to plant a code in.
	login.POST("/alipay-web/authorize", s.startRedirectLogin(models.ChannelAlipayWeb))
	login.POST("/alipay-web", s.loginAlipayWeb)
	// The tax APP's JWT is {token} (API.md); app_token is its old name.
	login.POST("/taxapp", s.login(models.ChannelTaxApp, "token", "app_token"))
	login.POST("/mengsuban/authorize", s.startAuthorization(models.ChannelMengsuban))
	login.POST("/mengsuban", s.loginWithCode(models.ChannelMengsuban))
	if sandbox {
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

func (s *Handlers) login(channel string, fields ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body map[string]string
		if !s.BindJSON(c, &body) {
			return
		}
		var code string
		for _, f := range fields {
			if code = body[f]; code != "" {
				break
			}
		}
		res, err := s.Svc.Login(c.Request.Context(), channel, code)
		if err != nil {
			s.loginFailed(c, channel, err)
			return
		}
		c.JSON(http.StatusCreated, res)
	}
}

// loginFailed renders a failed login, counting a refusal of the
// credential (or of the real name it carries) in /metrics.
func (s *Handlers) loginFailed(c *gin.Context, channel string, err error) {
	reason := ""
	if r, ok := models.AsLoginRefusal(err); ok {
		reason = r.Reason
	} else if errors.Is(err, models.ErrIdentityBound) || errors.Is(err, models.ErrIdentityMismatch) {
		reason = models.LoginReasonIdentity
	}
	if reason != "" {
		s.Metrics.LoginRefused.WithLabelValues(channel, reason).Inc()
		s.Log.WarnContext(c.Request.Context(), "login refused", "request_id", httpx.RequestID(c), "channel", channel,
			"reason", reason, "err", err)
	}
	s.Fail(c, err)
}

func (s *Handlers) startAuthorization(channel string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body struct {
			RedirectURI   string `json:"redirect_uri"`
			CodeChallenge string `json:"code_challenge"`
		}
		if !s.BindJSON(c, &body) {
			return
		}
		res, err := s.Svc.StartAuthorization(c.Request.Context(), channel, body.RedirectURI, body.CodeChallenge)
		if err != nil {
			s.Fail(c, err)
			return
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusCreated, res)
	}
}

// startRedirectLogin issues the state of a redirect login (微信城市服务)
// and answers the authorize URL carrying it.
func (s *Handlers) startRedirectLogin(channel string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body struct {
			RedirectURI string `json:"redirect_uri"`
		}
		if !s.BindJSON(c, &body) {
			return
		}
		res, err := s.Svc.StartRedirectLogin(c.Request.Context(), channel, body.RedirectURI)
		if err != nil {
			s.Fail(c, err)
			return
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusCreated, res)
	}
}

func (s *Handlers) loginWithState(channel string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in people.StateLoginInput
		if !s.BindJSON(c, &in) {
			return
		}
		res, err := s.Svc.LoginWithState(c.Request.Context(), channel, in)
		if err != nil {
			s.loginFailed(c, channel, err)
			return
		}
		c.JSON(http.StatusCreated, res)
	}
}

// loginAlipayWeb is loginWithState for Alipay's H5 pages; the code is
// under auth_code, Alipay's name for it in the redirect and in loginAlipay.
func (s *Handlers) loginAlipayWeb(c *gin.Context) {
	var body struct {
		AuthCode string `json:"auth_code"`
		State    string `json:"state"`
	}
	if !s.BindJSON(c, &body) {
		return
	}
	res, err := s.Svc.LoginWithState(c.Request.Context(), models.ChannelAlipayWeb, people.StateLoginInput{Code: body.AuthCode, State: body.State})
	if err != nil {
		s.loginFailed(c, models.ChannelAlipayWeb, err)
		return
	}
	c.JSON(http.StatusCreated, res)
}

func (s *Handlers) loginWithCode(channel string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in people.CodeLoginInput
		if !s.BindJSON(c, &in) {
			return
		}
		res, err := s.Svc.LoginWithCode(c.Request.Context(), channel, in)
		if err != nil {
			s.loginFailed(c, channel, err)
			return
		}
		c.JSON(http.StatusCreated, res)
	}
}

func (s *Handlers) loginSandbox(c *gin.Context) {
	var body struct {
		Subject string `json:"subject"`
	}
	if !s.BindJSON(c, &body) {
		return
	}
	res, err := s.Svc.LoginSandbox(c.Request.Context(), body.Subject)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, res)
}

func (s *Handlers) logout(c *gin.Context) {
	token := httpx.SessionToken(c)
	if err := s.Svc.Logout(c.Request.Context(), token); err != nil {
		s.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Handlers) getMe(c *gin.Context) {
	u, err := s.Svc.Me(c.Request.Context(), httpx.UserID(c))
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *Handlers) verifyIdentity(c *gin.Context) {
	var in people.IdentityInput
	if !s.BindJSON(c, &in) {
		return
	}
	u, err := s.Svc.VerifyIdentity(c.Request.Context(), httpx.UserID(c), in)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (s *Handlers) listFamily(c *gin.Context) {
	items, err := s.Svc.ListFamily(c.Request.Context(), httpx.UserID(c))
	if err != nil {
		s.Fail(c, err)
		return
	}
	httpx.Page(s.Kit, c, items)
}

func (s *Handlers) addFamilyMember(c *gin.Context) {
	var in people.FamilyInput
	if !s.BindJSON(c, &in) {
		return
	}
	m, err := s.Svc.AddFamilyMember(c.Request.Context(), httpx.UserID(c), in)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}

func (s *Handlers) removeFamilyMember(c *gin.Context) {
	if err := s.Svc.RemoveFamilyMember(c.Request.Context(), httpx.UserID(c), c.Param("member_id")); err != nil {
		s.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Handlers) grantRecordsAccess(c *gin.Context) {
	var in people.GrantInput
	if !s.BindJSON(c, &in) {
		return
	}
	g, err := s.Svc.GrantRecordsAccess(c.Request.Context(), httpx.UserID(c), in)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, g)
}

func (s *Handlers) listGrants(c *gin.Context) {
	items, err := s.Svc.ListGrants(c.Request.Context(), httpx.UserID(c))
	if err != nil {
		s.Fail(c, err)
		return
	}
	httpx.Page(s.Kit, c, items)
}

func (s *Handlers) revokeGrant(c *gin.Context) {
	if err := s.Svc.RevokeGrant(c.Request.Context(), httpx.UserID(c), c.Param("grant_id")); err != nil {
		s.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
