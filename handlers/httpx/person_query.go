package httpx

import (
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/service/people"
)

// PersonQuery reads ?person= (self or a member id).
func PersonQuery(c *gin.Context) people.PersonRef {
	return people.ParsePersonRef(strings.TrimSpace(c.Query("person")))
}
