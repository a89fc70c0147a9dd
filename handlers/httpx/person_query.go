package httpx

import (
	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/service/people"
	"strings"
)

// PersonQuery reads ?person= (self or a member id).
func PersonQuery(c *gin.Context) people.PersonRef {
	return people.ParsePersonRef(strings.TrimSpace(c.Query("person")))
}
