package handlers

import "github.com/gin-gonic/gin"

// refundRoutes registers the refund and hall-staff routes.
func (s *Server) refundRoutes(v1, auth *gin.RouterGroup) {}
