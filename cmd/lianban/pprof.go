package main

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofMux serves Go's profiler on a mux of its own: importing
// net/http/pprof for its side effect would register it on
// http.DefaultServeMux, and the API router must never serve it.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startPprof listens on addr (LIANBAN_PPROF_ADDR) until ctx ends; an
// empty addr starts nothing. It returns the address it listens on.
func (a *App) startPprof(ctx context.Context, addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	// WriteTimeout is left unset: a CPU profile holds the response open
	// for as long as its seconds parameter asks.
	srv := &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	a.log.Warn("pprof listening: profiles show code paths and timings, keep this address private", "addr", ln.Addr().String())
	return ln.Addr().String(), nil
}
