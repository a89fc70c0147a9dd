package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/lianban/lianban/store"
)

// server is the lianban process under load.
type server struct {
	BaseURL  string
	LogPath  string
	Database string // the URL the server was given, for seeding rows directly
	dir      string
	cmd      *exec.Cmd
	cleanup  []func()
	stop     sync.Once
}

// startServer builds ./cmd/lianban into a temporary directory and runs it
// there as `make run` would, on a fresh data directory. With
// LIANBAN_TEST_POSTGRES it gets a database created for this run (dropped
// afterwards, as store/storetest does for tests), so it never touches the
// tests' databases; with LIANBAN_TEST_REDIS it uses that Redis (every key
// it writes is named by ids and tokens of this run).
func startServer(ctx context.Context, o options, out io.Writer) (*server, error) {
	dir, err := os.MkdirTemp("", "lianban-perf-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, LogPath: filepath.Join(dir, "server.log")}
	if !o.Keep {
		s.cleanup = append(s.cleanup, func() { _ = os.RemoveAll(dir) })
	} else {
		fmt.Fprintln(out, "# -keep: the server's directory (its log, its SQLite database) stays at", dir)
	}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "lianban")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lianban")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build ./cmd/lianban: %v\n%s", err, b)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.BaseURL = "http://" + addr
	s.Database = "sqlite://" + filepath.Join(dir, "data", "lianban.db")
	if base := os.Getenv("LIANBAN_TEST_POSTGRES"); base != "" {
		if s.Database, err = s.freshPostgres(ctx, base); err != nil {
			return nil, err
		}
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIANBAN_") {
			env = append(env, kv)
		}
	}
	env = append(env, "LIANBAN_ADDR="+addr, "LIANBAN_DATA_DIR="+filepath.Join(dir, "data"),
		"LIANBAN_DATABASE="+s.Database,
		// The load comes from one address; each seeded person sends a
		// client address of its own in X-Forwarded-For, as phones behind
		// a load balancer would, so per-address login and identity-check
		// limits apply per person and not to the whole run.
		"LIANBAN_TRUSTED_PROXIES=127.0.0.1/32")
	if r := os.Getenv("LIANBAN_TEST_REDIS"); r != "" {
		env = append(env, "LIANBAN_REDIS="+r)
	}
	if o.PprofAddr != "" {
		env = append(env, "LIANBAN_PPROF_ADDR="+o.PprofAddr)
	}
	// Last, so a -server-env setting wins over the tool's (os/exec keeps
	// the last value of a key).
	env = append(env, o.ServerEnv...)
	logf, err := os.Create(s.LogPath)
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { _ = logf.Close() })
	s.cmd = exec.Command(bin)
	s.cmd.Dir, s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = dir, env, logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, s.BaseURL+"/readyz", 60*time.Second); err != nil {
		b, _ := os.ReadFile(s.LogPath)
		return nil, fmt.Errorf("server not ready: %w\n%.3000s", err, b)
	}
	if o.PprofAddr != "" {
		fmt.Fprintf(out, "# pprof: go tool pprof http://%s/debug/pprof/profile?seconds=10\n", o.PprofAddr)
	}
	ok = true
	return s, nil
}

// freshPostgres creates a database of this run's own on the server behind
// base and drops it when the run ends.
func (s *server) freshPostgres(ctx context.Context, base string) (string, error) {
	admin, err := store.Open(ctx, base)
	if err != nil {
		return "", fmt.Errorf("LIANBAN_TEST_POSTGRES is unreachable: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "lbperf_" + hex.EncodeToString(b)
	if err := admin.Gorm.Exec("CREATE DATABASE " + name).Error; err != nil {
		_ = admin.Close()
		return "", fmt.Errorf("create database: %w", err)
	}
	s.cleanup = append(s.cleanup, func() {
		admin.Gorm.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Stop ends the server (SIGINT, then a kill after its grace) and removes
// what the run made; once, whoever calls it again.
func (s *server) Stop() { s.stop.Do(s.stopOnce) }

func (s *server) stopOnce() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(25 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

func waitReady(ctx context.Context, u string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("readyz %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return last
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// moduleRoot is the repository the tool runs from: `go run` and `make
// perf` start in it; otherwise the source file's directory says.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/lianban/lianban") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		return filepath.Join(filepath.Dir(file), "..", ".."), nil
	}
	return "", fmt.Errorf("run lianban-perf from the repository (no go.mod of github.com/lianban/lianban above %s)", dir)
}
