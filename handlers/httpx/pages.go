package httpx

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
)

// listPage renders a whole, bounded list (family, grants, enrolments,
// records, services) one page at a time, as every list of the API is:
// {"items": […], "next_page_token": "…"}. The token is an opaque offset.
func (s *Kit) listPage(c *gin.Context, n int, slice func(from, to int) any) {
	size, from := 50, 0
	if v := c.Query("page_size"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > 200 {
			s.Fail(c, models.ErrInvalid.WithReason("page_size 应为 1 到 200"))
			return
		}
		size = k
	}
	if tok := c.Query("page_token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		off, ok := strings.CutPrefix(string(b), "o:")
		k, err2 := strconv.Atoi(off)
		if err != nil || !ok || err2 != nil || k < 0 || k > n {
			s.Fail(c, models.ErrInvalid.WithReason("page_token 无效"))
			return
		}
		from = k
	}
	to := min(from+size, n)
	next := ""
	if to < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(to)))
	}
	c.JSON(http.StatusOK, gin.H{"items": slice(from, to), "next_page_token": next})
}

// Page renders items with listPage.
func Page[T any](s *Kit, c *gin.Context, items []T) {
	if items == nil {
		items = []T{}
	}
	s.listPage(c, len(items), func(from, to int) any { return items[from:to] })
}
