package httpx

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Download answers a private file as an attachment: never cached, and of
// the type the server decided (a browser must not sniff another).
func Download(c *gin.Context, filename, contentType string, body []byte) {
	c.Header("Content-Disposition", `attachment; filename="`+filename+`"`)
	c.Header("Cache-Control", "private, no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, contentType, body)
}
