package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/anomalies"
	"github.com/prometheus/client_golang/prometheus"
)

// anomalyRoutes registers the hall's anomaly queue (on st, under a staff
// session; who sees and resolves which is decided by the workflow layer)
// and the open-anomaly gauges of /metrics (on reg).
func (s *Server) anomalyRoutes(st *gin.RouterGroup, reg prometheus.Registerer) {
	st.GET("/anomalies", s.listAnomalies)
	st.GET("/anomalies/:anomaly_id", s.getAnomaly)
	st.POST("/anomalies/:anomaly_id/resolve", s.resolveAnomaly)
	reg.MustRegister(&anomalyCollector{svc: s.svc, log: s.log,
		open: prometheus.NewDesc("lianban_anomalies_open", "Open (unresolved) anomalies by kind, from the database.", []string{"kind"}, nil),
		oldest: prometheus.NewDesc("lianban_anomalies_oldest_open_seconds", "Age of the oldest open anomaly of each kind (0 when none is open).",
			[]string{"kind"}, nil)})
}

func (s *Server) listAnomalies(c *gin.Context) {
	page, err := pageOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f := anomalies.AnomalyFilter{Status: c.Query("status"), Kind: c.Query("kind")}
	items, next, err := s.svc.ListAnomalies(c.Request.Context(), staffActor(c), f, page)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Server) getAnomaly(c *gin.Context) {
	v, err := s.svc.GetAnomaly(c.Request.Context(), staffActor(c), c.Param("anomaly_id"))
	s.render(c, http.StatusOK, v, err)
}

func (s *Server) resolveAnomaly(c *gin.Context) {
	var in anomalies.ResolveAnomalyInput
	if !s.bindJSON(c, &in) {
		return
	}
	v, err := s.svc.ResolveAnomaly(c.Request.Context(), staffActor(c), c.Param("anomaly_id"), in)
	s.render(c, http.StatusOK, v, err)
}

// anomalyCollector reads the open anomalies from the database at scrape
// time: the database is the record and every instance sees the same
// queue, so no in-process counter could be right. A database that does
// not answer leaves the gauges out of that scrape (and is logged) rather
// than failing the whole of /metrics.
type anomalyCollector struct {
	svc          *service.Service
	log          *slog.Logger
	open, oldest *prometheus.Desc
}

func (a *anomalyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- a.open
	ch <- a.oldest
}

func (a *anomalyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := a.svc.OpenAnomalyStats(ctx)
	if err != nil {
		a.log.ErrorContext(ctx, "open anomalies not counted", "err", err)
		return
	}
	for _, st := range stats {
		ch <- prometheus.MustNewConstMetric(a.open, prometheus.GaugeValue, float64(st.Count), st.Kind)
		ch <- prometheus.MustNewConstMetric(a.oldest, prometheus.GaugeValue, st.Oldest.Seconds(), st.Kind)
	}
}
