package handlers

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
)

// observe logs each request as one JSON line and records metrics. Paths
// are logged as route templates plus the id-free query keys: ids and
// personal data stay out of logs.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := strconv.Itoa(c.Writer.Status())
		d := time.Since(start)
		s.Metrics.Requests.WithLabelValues(c.Request.Method, route, status).Inc()
		s.Metrics.Latency.WithLabelValues(c.Request.Method, route, status).Observe(d.Seconds())
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
			if c.GetBool(httpx.QuietFailureKey) {
				// The 5xx is the answer a protocol wants for someone
				// else's mistake (a rejected notification), not ours.
				level = slog.LevelWarn
			}
		}
		if route == "/healthz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		s.Log.Log(c.Request.Context(), level, "http", "request_id", httpx.RequestID(c), "method", c.Request.Method,
			"route", route, "status", c.Writer.Status(), "duration_ms", d.Milliseconds(), "bytes", c.Writer.Size())
	}
}

// recoverer turns a panic into a 500 with the API's error body.
func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				s.Log.ErrorContext(c.Request.Context(), "panic", "request_id", httpx.RequestID(c), "panic", r)
				s.Fail(c, models.ErrInternal)
			}
		}()
		c.Next()
	}
}
