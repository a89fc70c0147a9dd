//go:build faults || soak

package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
)

// workLease is LIANBAN_WORK_LEASE of the run: the shortest accepted, so
// the work of a killed instance is taken over within settleLimit.
const workLease = time.Minute

// cluster is everything one run starts: a database of its own on the
// PostgreSQL of LIANBAN_TEST_POSTGRES behind a fault proxy, a redis-server
// of its own, the WeChat fake (mini-program login and WeChat Pay) behind a
// fault proxy, a load balancer, and the lianban instances behind it.
type cluster struct {
	t   testing.TB
	dir string
	bin string

	dbURL   string    // direct, for the checks
	db      *store.DB // direct, for the checks
	pgProxy *faultProxy
	redis   *redisServer
	wx      *wechatfake.Server
	wxProxy *faultProxy
	lb      *balancer
	env     []string

	mu        sync.Mutex
	instances []*instance
}

func requireEnv(t testing.TB) string {
	t.Helper()
	pg := os.Getenv("LIANBAN_TEST_POSTGRES")
	if pg == "" {
		t.Fatal("LIANBAN_TEST_POSTGRES is not set: the fault suite runs on PostgreSQL (see .ci/run)")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not on the PATH: the fault suite starts a Redis of its own to kill")
	}
	return pg
}

// newCluster starts everything but the instances.
func newCluster(t testing.TB) *cluster {
	t.Helper()
	pg := requireEnv(t)
	c := &cluster{t: t, dir: t.TempDir()}
	c.bin = buildServer(t, c.dir)
	c.dbURL = freshPostgres(t, pg)
	db, err := store.Open(context.Background(), c.dbURL)
	if err != nil {
		t.Fatalf("open the run's database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c.db = db
	u, _ := url.Parse(c.dbURL)
	c.pgProxy = newFaultProxy(t, u.Host)
	u.Host = c.pgProxy.Addr()
	viaProxy := u.String()

	c.redis = startRedis(t, c.dir)

	// The channel notifies on a schedule longer than the fake's default,
	// like WeChat's (15 s … 24 h), shortened to fit a test: a payment must
	// survive a fault of several seconds on notifications alone.
	c.wx = wechatfake.New(wechatfake.Options{NotifyRetry: []time.Duration{0, 500 * time.Millisecond, time.Second,
		2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second, 30 * time.Second}})
	c.wx.Start()
	t.Cleanup(c.wx.Close)
	wxURL, _ := url.Parse(c.wx.URL())
	c.wxProxy = newFaultProxy(t, wxURL.Host)
	wxBase := "http://" + c.wxProxy.Addr()

	c.lb = newBalancer(t)
	keys := c.wx.Keys()
	mchKey, _ := x509.MarshalPKCS8PrivateKey(keys.MchKey)
	pubKey, _ := x509.MarshalPKIXPublicKey(&keys.PlatformKey.PublicKey)
	mchFile, pubFile := filepath.Join(c.dir, "mch.pem"), filepath.Join(c.dir, "wxpay-pub.pem")
	writePEM(t, mchFile, "PRIVATE KEY", mchKey)
	writePEM(t, pubFile, "PUBLIC KEY", pubKey)

	c.env = []string{
		"LIANBAN_SANDBOX=true",
		"LIANBAN_DATABASE=" + viaProxy,
		"LIANBAN_REDIS=redis://" + c.redis.addr + "/0",
		"LIANBAN_PUBLIC_URL=" + c.lb.URL(),
		// Every instance must read what another wrote: one key for all.
		"LIANBAN_PII_KEY=" + randKey(),
		"LIANBAN_CERT_SIGNING_KEY=" + randKey(),
		"LIANBAN_WORKER_INTERVAL=1s",
		// A killed instance's claims on background work end after this;
		// the default 5 minutes is longer than a scenario waits for its
		// books to balance (settleLimit).
		"LIANBAN_WORK_LEASE=" + workLease.String(),
		"LIANBAN_SANDBOX_CREDIT_DELAY=300ms",
		"LIANBAN_SANDBOX_BOOK_DELAY=600ms",
		"LIANBAN_TRUSTED_PROXIES=127.0.0.1/32",
		"LIANBAN_LOG_LEVEL=warn",
		"LIANBAN_WECHAT_APPID=" + c.wx.AppID(),
		"LIANBAN_WECHAT_SECRET=" + c.wx.Secret(),
		"LIANBAN_WECHAT_API_BASE=" + wxBase,
		"LIANBAN_WECHATPAY_MCHID=" + c.wx.MchID(),
		"LIANBAN_WECHATPAY_MCH_SERIAL=" + keys.MchSerial,
		"LIANBAN_WECHATPAY_MCH_KEY_FILE=" + mchFile,
		"LIANBAN_WECHATPAY_APIV3_KEY=" + keys.APIv3Key,
		"LIANBAN_WECHATPAY_PUBKEY_ID=" + keys.PubKeyID,
		"LIANBAN_WECHATPAY_PUBKEY_FILE=" + pubFile,
		"LIANBAN_WECHATPAY_API_BASE=" + wxBase,
		"LIANBAN_WECHATPAY_NOTIFY_URL=" + c.lb.URL() + "/api/v1/notify/wechatpay",
	}
	return c
}

// startInstance starts one more instance and puts it behind the balancer.
func (c *cluster) startInstance() *instance {
	c.t.Helper()
	c.mu.Lock()
	n := len(c.instances) + 1
	c.mu.Unlock()
	in := &instance{name: fmt.Sprintf("instance-%d", n), bin: c.bin, dir: filepath.Join(c.dir, fmt.Sprintf("i%d", n))}
	if err := os.MkdirAll(in.dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	in.addr = freeAddr(c.t)
	if err := in.start(c.env); err != nil {
		c.t.Fatalf("%s: %v", in.name, err)
	}
	c.t.Cleanup(in.stop)
	c.mu.Lock()
	c.instances = append(c.instances, in)
	c.mu.Unlock()
	c.lb.add("http://" + in.addr)
	return in
}

// instance is one lianban process.
type instance struct {
	name, bin, dir, addr string
	log                  string
	cmd                  *exec.Cmd
	exited               chan struct{}
}

func (in *instance) start(env []string) error {
	in.log = filepath.Join(in.dir, "server.log")
	f, err := os.OpenFile(in.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	base := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIANBAN_") {
			base = append(base, kv)
		}
	}
	in.cmd = exec.Command(in.bin)
	in.cmd.Dir = in.dir
	in.cmd.Env = append(append(base, env...), "LIANBAN_ADDR="+in.addr, "LIANBAN_DATA_DIR="+filepath.Join(in.dir, "data"))
	in.cmd.Stdout, in.cmd.Stderr = f, f
	dieWithTest(in.cmd)
	if err := in.cmd.Start(); err != nil {
		f.Close()
		return err
	}
	in.exited = make(chan struct{})
	go func() { _ = in.cmd.Wait(); f.Close(); close(in.exited) }()
	if err := waitReady("http://"+in.addr+"/readyz", 3*time.Minute, in.exited); err != nil {
		return fmt.Errorf("not ready: %w\n%s", err, in.tail())
	}
	return nil
}

// kill ends the process with SIGKILL: no shutdown, no hand-back, requests
// in flight are lost, as when a machine dies.
func (in *instance) kill() {
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.exited
}

func (in *instance) stop() {
	select {
	case <-in.exited:
		return
	default:
	}
	_ = in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.exited:
	case <-time.After(30 * time.Second):
		in.kill()
	}
}

func (in *instance) pid() int { return in.cmd.Process.Pid }

// tail is the end of the instance's log, for a failure message.
func (in *instance) tail() string {
	b, _ := os.ReadFile(in.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// buildServer builds ./cmd/lianban as a deployment would (no race
// detector: the suite measures the server, not the detector).
func buildServer(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "lianban")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/lianban")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/lianban: %v\n%s", err, b)
	}
	return bin
}

// freshPostgres creates a database of the run's own, dropped at the end.
func freshPostgres(t testing.TB, base string) string {
	t.Helper()
	admin, err := store.Open(context.Background(), base)
	if err != nil {
		t.Fatalf("LIANBAN_TEST_POSTGRES is unreachable: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "lbfaults_" + hex.EncodeToString(b)
	if err := admin.Gorm.Exec("CREATE DATABASE " + name).Error; err != nil {
		_ = admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin.Gorm.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// redisServer is a redis-server of the run's own on a spare port, without
// persistence, so killing it harms nobody else and loses everything in it.
type redisServer struct {
	dir, addr string
	cmd       *exec.Cmd
	exited    chan struct{}
}

func startRedis(t testing.TB, dir string) *redisServer {
	t.Helper()
	r := &redisServer{dir: filepath.Join(dir, "redis"), addr: freeAddr(t)}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.kill)
	return r
}

func (r *redisServer) start() error {
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	dieWithTest(r.cmd)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.exited = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	rc := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rc.Close()
	for range 100 {
		if rc.Ping(context.Background()).Err() == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("redis-server did not answer PING")
}

// kill ends redis-server with SIGKILL; its data is gone.
func (r *redisServer) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
}

// balancer is the load balancer in front of the instances: round robin,
// and a backend that refuses the connection is skipped for a second (a
// health check's effect), the request going to the next. A request that
// reached an instance which then died is not replayed: the caller sees
// 502, as behind a real balancer.
type balancer struct {
	srv  *http.Server
	ln   net.Listener
	tr   *http.Transport
	next atomic.Uint64

	mu       sync.Mutex
	backends []string
	downTill map[string]time.Time
}

func newBalancer(t testing.TB) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, downTill: map[string]time.Time{},
		tr: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	t.Cleanup(func() { _ = b.srv.Close(); b.tr.CloseIdleConnections() })
	return b
}

func (b *balancer) URL() string { return "http://" + b.ln.Addr().String() }

func (b *balancer) add(backend string) {
	b.mu.Lock()
	b.backends = append(b.backends, backend)
	b.mu.Unlock()
}

func (b *balancer) pick() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.backends)
	start := int(b.next.Add(1))
	var up, down []string
	for i := range n {
		be := b.backends[(start+i)%n]
		if time.Now().Before(b.downTill[be]) {
			down = append(down, be)
		} else {
			up = append(up, be)
		}
	}
	return append(up, down...)
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	for _, be := range b.pick() {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, be+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := b.tr.RoundTrip(req)
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				b.mu.Lock()
				b.downTill[be] = time.Now().Add(time.Second)
				b.mu.Unlock()
				continue
			}
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no backend", http.StatusBadGateway)
}

func waitReady(u string, limit time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(limit)
	var last error = errors.New("timed out")
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("the process exited")
		default:
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("readyz %d", resp.StatusCode)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
