package certificate

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkRender renders the twelve-month contribution proof on one core.
func BenchmarkRender(b *testing.B) {
	r := newTestRenderer(b)
	c := proofFixture()
	var size int
	for b.Loop() {
		pdf, err := r.Render(c)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "bytes/pdf")
}

// BenchmarkRenderParallel renders with GOMAXPROCS goroutines sharing one
// Renderer; certs/s/core is the throughput each core adds.
func BenchmarkRenderParallel(b *testing.B) {
	r := newTestRenderer(b)
	c := proofFixture()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Render(c); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start).Seconds()
	procs := float64(runtime.GOMAXPROCS(0))
	b.ReportMetric(float64(b.N)/elapsed, "certs/s")
	b.ReportMetric(float64(b.N)/elapsed/procs, "certs/s/core")
}

// BenchmarkNewRenderer is the one-time cost of parsing the font.
func BenchmarkNewRenderer(b *testing.B) {
	for b.Loop() {
		newTestRenderer(b)
	}
}
