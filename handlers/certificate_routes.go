package handlers

import "github.com/gin-gonic/gin"

// certificateRoutes registers the certificate routes.
func (s *Server) certificateRoutes(v1, auth *gin.RouterGroup) {}
