//go:build faults || soak

package faults

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultProxy is a TCP proxy in front of one server (PostgreSQL, the
// channel) that can take it away: refuse and cut every connection,
// slow every answer down, or swallow connections without answering.
type faultProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	down    bool          // every connection is cut at once
	hole    bool          // connections are accepted and never answered
	latency time.Duration // added before each chunk of an answer

	refused atomic.Int64
}

func newFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr is host:port of the proxy.
func (p *faultProxy) Addr() string { return p.ln.Addr().String() }

func (p *faultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down, hole := p.down, p.hole
		if !down {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		switch {
		case down:
			p.refused.Add(1)
			reset(c)
		case hole:
			go func() { _, _ = io.Copy(io.Discard, c) }() // held until Restore cuts it
		default:
			go p.pipe(c)
		}
	}
}

func (p *faultProxy) pipe(c net.Conn) {
	defer p.forget(c)
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		reset(c)
		return
	}
	p.mu.Lock()
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	defer p.forget(up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { p.copySlow(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// copySlow copies the answers, waiting the current latency before each
// chunk (one HTTP answer is usually one chunk, so each is late by about
// it), and holding every answer back while the proxy is a black hole:
// requests still reach the server, answers never come back.
func (p *faultProxy) copySlow(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.latency
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d)
			}
			for p.holding() {
				time.Sleep(50 * time.Millisecond)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *faultProxy) holding() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hole
}

func (p *faultProxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Cut makes the server unreachable: open connections are reset and new
// ones are reset as soon as they arrive, until Restore.
func (p *faultProxy) Cut() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.dropAll()
}

// Blackhole stops every answer, on open connections and new ones, until
// Restore: the caller learns nothing until its own timeout, and a request
// may have been carried out without its answer ever arriving.
func (p *faultProxy) Blackhole() {
	p.mu.Lock()
	p.hole = true
	p.mu.Unlock()
}

// SetLatency delays every chunk of every answer by d (0: none).
func (p *faultProxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// Restore ends Cut and Blackhole; blackholed connections are cut, as a
// network that comes back after a partition leaves them.
func (p *faultProxy) Restore() {
	p.mu.Lock()
	wasHole := p.hole
	p.down, p.hole, p.latency = false, false, 0
	p.mu.Unlock()
	if wasHole {
		p.dropAll()
	}
}

func (p *faultProxy) dropAll() {
	p.mu.Lock()
	cs := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		reset(c)
	}
}

func (p *faultProxy) close() {
	_ = p.ln.Close()
	p.dropAll()
}

// reset closes a connection with RST rather than FIN, as a peer that went
// away does.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
