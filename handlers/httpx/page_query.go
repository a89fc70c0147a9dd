package httpx

import (
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
)

// PageOf reads page_size (1–100, default 20) and page_token.
func PageOf(c *gin.Context) (kernel.Page, error) {
	p := kernel.Page{Size: 20, After: c.Query("page_token")}
	if p.After != "" && !validPageToken(p.After) {
		return p, errPageToken
	}
	if v := c.Query("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return p, models.ErrInvalid.WithReason("page_size 应为 1 到 100")
		}
		p.Size = n
	}
	return p, nil
}
