package anomalies

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/anomalies"
	"github.com/prometheus/client_golang/prometheus"
)

// Handlers serve the anomaly queue routes. Shared plumbing (error rendering, body
// decoding, idempotency, sessions) is httpx.Kit's.
type Handlers struct {
	*httpx.Kit
}

// Register registers the hall's anomaly queue (on st, under a staff
// session; who sees and resolves which is decided by the workflow layer)
// and the open-anomaly gauges of /metrics (on reg).
func Register(k *httpx.Kit, st *gin.RouterGroup, reg prometheus.Registerer) {
	s := &Handlers{Kit: k}
	st.GET("/anomalies", s.listAnomalies)
	st.GET("/anomalies/:anomaly_id", s.getAnomaly)
	st.POST("/anomalies/:anomaly_id/resolve", s.resolveAnomaly)
	reg.MustRegister(&anomalyCollector{Svc: s.Svc, Log: s.Log,
		open: prometheus.NewDesc("lianban_anomalies_open", "Open (unresolved) anomalies by kind, from the database.", []string{"kind"}, nil),
		oldest: prometheus.NewDesc("lianban_anomalies_oldest_open_seconds", "Age of the oldest open anomaly of each kind (0 when none is open).",
			[]string{"kind"}, nil)})
}

func (s *Handlers) listAnomalies(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	f := anomalies.AnomalyFilter{Status: c.Query("status"), Kind: c.Query("kind")}
	items, next, err := s.Svc.ListAnomalies(c.Request.Context(), httpx.StaffActor(c), f, page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

func (s *Handlers) getAnomaly(c *gin.Context) {
	v, err := s.Svc.GetAnomaly(c.Request.Context(), httpx.StaffActor(c), c.Param("anomaly_id"))
	s.Render(c, http.StatusOK, v, err)
}

func (s *Handlers) resolveAnomaly(c *gin.Context) {
	var in anomalies.ResolveAnomalyInput
	if !s.BindJSON(c, &in) {
		return
	}
	v, err := s.Svc.ResolveAnomaly(c.Request.Context(), httpx.StaffActor(c), c.Param("anomaly_id"), in)
	s.Render(c, http.StatusOK, v, err)
}

// anomalyCollector reads the open anomalies from the database at scrape
// time: the database is the record and every instance sees the same
// queue, so no in-process counter could be right. A database that does
// not answer leaves the gauges out of that scrape (and is logged) rather
// than failing the whole of /metrics.
type anomalyCollector struct {
	Svc          *service.Service
	Log          *slog.Logger
	open, oldest *prometheus.Desc
}

func (a *anomalyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- a.open
	ch <- a.oldest
}

func (a *anomalyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := a.Svc.OpenAnomalyStats(ctx)
	if err != nil {
		a.Log.ErrorContext(ctx, "open anomalies not counted", "err", err)
		return
	}
	for _, st := range stats {
		ch <- prometheus.MustNewConstMetric(a.open, prometheus.GaugeValue, float64(st.Count), st.Kind)
		ch <- prometheus.MustNewConstMetric(a.oldest, prometheus.GaugeValue, st.Oldest.Seconds(), st.Kind)
	}
}
