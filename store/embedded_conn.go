package store

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2/server"
)

// embeddedConn is a go-redis connection to the embedded miniredis that
// runs each command in the goroutine that writes it: Write parses the
// complete commands it was given, dispatches them to the server and
// keeps the replies for the Read that follows.
//
// miniredis's own Dial serves a net.Pipe with two goroutines of its own
// (one reads and parses, one dispatches), and net.Pipe hands every write
// over synchronously, so one command was four goroutine hand-offs. Under
// make perf's load each hand-off waited for a core behind every runnable
// request: an execution trace of getMe on the embedded server had three
// fifths of the scheduler's delay in those channel sends, and the reads'
// p99 was two to four times /healthz's at the same rate.
//
// Replies can also come from other goroutines (a subscriber's messages,
// a blocking command's answer), so Read waits for them when there are
// none, until the connection closes or its read deadline passes.
type embeddedConn struct {
	srv  *server.Server
	peer *server.Peer

	in []byte // the start of a command whose end has not been written yet

	mu       sync.Mutex
	ready    *sync.Cond // out grew, the connection closed or a deadline moved
	out      bytes.Buffer
	closed   bool
	deadline time.Time // for Read; zero: none
}

// newEmbeddedConn connects to srv.
func newEmbeddedConn(srv *server.Server) *embeddedConn {
	c := &embeddedConn{srv: srv}
	c.ready = sync.NewCond(&c.mu)
	c.peer = server.NewPeer(bufio.NewWriter(replySink{c}))
	return c
}

// replySink is where the peer's buffered replies land.
type replySink struct{ c *embeddedConn }

func (s replySink) Write(p []byte) (int, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.closed {
		return 0, net.ErrClosed
	}
	s.c.out.Write(p)
	s.c.ready.Broadcast()
	return len(p), nil
}

// Write runs every complete command in p (and in what earlier writes left
// unfinished), in order, before it returns.
func (c *embeddedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	c.in = append(c.in, p...)
	for len(c.in) > 0 {
		args, n, err := parseCommand(c.in)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break // the rest of this command comes with the next write
		}
		c.in = c.in[n:]
		c.srv.Dispatch(c.peer, args)
		c.peer.Flush()
		if c.peer.Closed() { // QUIT
			_ = c.Close()
			break
		}
	}
	if len(c.in) == 0 {
		c.in = c.in[:0:0] // let a large pipeline's buffer go
	}
	return len(p), nil
}

// Read returns the replies written so far, waiting for one when there is
// none.
func (c *embeddedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.out.Len() == 0 {
		switch {
		case c.closed:
			return 0, io.EOF
		case !c.deadline.IsZero() && !time.Now().Before(c.deadline):
			return 0, os.ErrDeadlineExceeded
		}
		var wake *time.Timer
		if !c.deadline.IsZero() {
			wake = time.AfterFunc(time.Until(c.deadline), func() {
				c.mu.Lock()
				c.ready.Broadcast()
				c.mu.Unlock()
			})
		}
		c.ready.Wait()
		if wake != nil {
			wake.Stop()
		}
	}
	return c.out.Read(p)
}

// Close ends the connection; a Read waiting on it returns io.EOF.
func (c *embeddedConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.ready.Broadcast()
	return nil
}

func (c *embeddedConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *embeddedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	c.ready.Broadcast()
	return nil
}

// SetWriteDeadline does nothing: a write never waits for a reader.
func (c *embeddedConn) SetWriteDeadline(time.Time) error { return nil }

func (c *embeddedConn) LocalAddr() net.Addr  { return embeddedAddr{} }
func (c *embeddedConn) RemoteAddr() net.Addr { return embeddedAddr{} }

type embeddedAddr struct{}

func (embeddedAddr) Network() string { return "embedded" }
func (embeddedAddr) String() string  { return "embedded:0" }

// errProtocol is a write that is not a RESP array of bulk strings, the
// only form go-redis sends.
var errProtocol = errors.New("embedded redis: not a RESP command")

// parseCommand reads one command (*N\r\n then N times $len\r\nbytes\r\n)
// from the start of b: its arguments and how many bytes it took, or n = 0
// when b ends before the command does.
func parseCommand(b []byte) (args []string, n int, err error) {
	count, pos, ok, err := respHeader(b, 0, '*')
	if !ok || err != nil {
		return nil, 0, err
	}
	args = make([]string, 0, count)
	for range count {
		size, next, ok, err := respHeader(b, pos, '$')
		if !ok || err != nil {
			return nil, 0, err
		}
		end := next + size
		if len(b) < end+2 {
			return nil, 0, nil
		}
		if b[end] != '\r' || b[end+1] != '\n' {
			return nil, 0, errProtocol
		}
		args = append(args, string(b[next:end]))
		pos = end + 2
	}
	if count == 0 {
		return nil, 0, errProtocol
	}
	return args, pos, nil
}

// respHeader reads a line "<kind><decimal>\r\n" at b[pos:]: the number and
// where the line ends, ok = false when the line is not complete yet.
func respHeader(b []byte, pos int, kind byte) (v, next int, ok bool, err error) {
	if pos >= len(b) {
		return 0, 0, false, nil
	}
	if b[pos] != kind {
		return 0, 0, false, errProtocol
	}
	end := bytes.Index(b[pos:], []byte("\r\n"))
	if end < 0 {
		if len(b)-pos > 32 {
			return 0, 0, false, errProtocol
		}
		return 0, 0, false, nil
	}
	v, err = strconv.Atoi(string(b[pos+1 : pos+end]))
	if err != nil || v < 0 || v > maxEmbeddedArg {
		return 0, 0, false, errProtocol
	}
	return v, pos + end + 2, true, nil
}

// maxEmbeddedArg bounds one argument or one command's count (Redis's own
// proto-max-bulk-len is 512 MB; nothing here comes near a megabyte).
const maxEmbeddedArg = 512 << 20
