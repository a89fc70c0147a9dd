package people

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
)

func (s *Handlers) listMessages(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListMessages(c.Request.Context(), httpx.UserID(c), page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}
