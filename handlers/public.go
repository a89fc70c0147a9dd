package handlers

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
)

func (s *Server) getHealth(c *gin.Context) {
	// sandbox lets a monitor alert on a production server that came up
	// in sandbox mode.
	c.JSON(http.StatusOK, gin.H{"status": "ok", "sandbox": s.sandbox})
}

// listLoginMethods names the ways a person can log in on this server: the
// configured channels, and sandbox in sandbox mode. The H5 offers a
// button only for those (a server without 蒙速办 showed one that could
// only fail).
func (s *Server) listLoginMethods(c *gin.Context) {
	methods := s.Svc.LoginChannels()
	if s.sandbox {
		methods = append(methods, models.ChannelSandbox)
		slices.Sort(methods)
	}
	c.JSON(http.StatusOK, gin.H{"methods": methods})
}

func (s *Server) getReady(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if s.ready != nil {
		if err := s.ready(ctx); err != nil {
			s.Log.WarnContext(ctx, "not ready", "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *Server) listServices(c *gin.Context) {
	httpx.Page(s.Kit, c, s.services)
}

// policyResponse is one region's fee standards for a year with the policy
// file's version, so a client can tell which figures it was shown.
type policyResponse struct {
	Version string `json:"version"`
	models.PolicyYear
	// RegionRules are the region's rules the amounts depend on (female
	// original retirement age, the month its medical year starts), each
	// with its source.
	RegionRules models.RegionRules `json:"region_rules"`
	Regions     []models.Region    `json:"regions"`
}

func (s *Server) getPolicy(c *gin.Context) {
	region := c.DefaultQuery("region", "150100")
	year := s.Svc.Clock.Now().In(models.Beijing).Year()
	if y := c.Query("year"); y != "" {
		v, err := strconv.Atoi(y)
		if err != nil {
			s.Fail(c, models.ErrInvalid.WithReason("year 应为四位年份"))
			return
		}
		year = v
	}
	py, err := s.policy.Year(region, year)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, policyResponse{Version: s.policy.Version(), PolicyYear: py, RegionRules: s.policy.Rules(region), Regions: s.policy.Regions()})
}
