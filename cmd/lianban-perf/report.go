package main

import (
	"fmt"
	"time"
)

// resultLine is one endpoint's figures in one run.
type resultLine struct {
	Name       string
	Requests   uint64
	RPS        float64 // successful requests per second
	P50, P99   time.Duration
	Errors     uint64
	FirstError string
}

// tableHeader heads the lines format prints: a Markdown table, so a run's
// output goes into the README as it is.
const tableHeader = "| endpoint | rps | p50 | p99 | errors | × /healthz rps |\n|---|---:|---:|---:|---:|---:|"

// format prints the line with its ratio to the run's /healthz rps.
func (l resultLine) format(healthzRPS float64) string {
	ratio := "–"
	if healthzRPS > 0 {
		ratio = fmt.Sprintf("%.1f%%", 100*l.RPS/healthzRPS)
	}
	errs := fmt.Sprintf("%d/%d", l.Errors, l.Requests)
	if l.FirstError != "" {
		errs += " (first: " + l.FirstError + ")"
	}
	return fmt.Sprintf("| %s | %.0f | %s | %s | %s | %s |", l.Name, l.RPS, ms(l.P50), ms(l.P99), errs, ratio)
}

// ms prints a latency in milliseconds with sensible precision.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}
