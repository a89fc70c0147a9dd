package httpx

import (
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
)

// PageOf reads page_size (1–100, default 20) and page_token.
func PageOf(c *gin.Context) (kernel.Page, error) { return PageSized(c, 20, 100) }

// PageSized reads page_size (1–max, default def) and page_token, for a
// list whose pages are another size than most (records).
func PageSized(c *gin.Context, def, max int) (kernel.Page, error) {
	p := kernel.Page{Size: def, After: c.Query("page_token")}
	if p.After != "" && !validPageToken(p.After) {
		return p, errPageToken
	}
	if v := c.Query("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return p, models.ErrInvalid.WithReason("page_size 应为 1 到 " + strconv.Itoa(max))
		}
		p.Size = n
	}
	return p, nil
}
