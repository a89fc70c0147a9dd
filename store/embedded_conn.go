package store

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

	writeMu    sync.Mutex // Write, and Close's unsubscribing
	in         []byte     // the start of a command whose end has not been written yet
	need       int        // len(in) at which that command may be complete
	subscribed atomic.Bool

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
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	b := p
	if len(c.in) > 0 {
		c.in = append(c.in, p...)
		b = c.in
		if len(b) < c.need {
			return len(p), nil // a large value still arriving: parse it once it is all here
		}
	}
	for len(b) > 0 {
		args, n, need, err := parseCommand(b)
		if err != nil {
			c.in = nil
			return 0, err
		}
		if n == 0 {
			// The rest of this command comes with the next write.
			c.in = append(c.in[:0], b...)
			c.need = need
			return len(p), nil
		}
		b = b[n:]
		subscribe := isSubscribe(args[0])
		if subscribe {
			c.subscribed.Store(true)
		}
		c.srv.Dispatch(c.peer, args)
		c.peer.Flush()
		if subscribe && c.isClosed() && c.subscribed.Swap(false) {
			c.unsubscribe() // a Close came between the check above and the flag
		}
		if c.peer.Closed() { // QUIT
			c.markClosed()
			break
		}
	}
	c.in, c.need = nil, 0
	return len(p), nil
}

// isSubscribe reports whether cmd puts a connection into pub/sub.
func isSubscribe(cmd string) bool {
	return strings.EqualFold(cmd, "SUBSCRIBE") || strings.EqualFold(cmd, "PSUBSCRIBE")
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
	n, err := c.out.Read(p)
	if c.out.Len() == 0 && c.out.Cap() > keptReplyBuffer {
		c.out = bytes.Buffer{} // a large reply's buffer is not kept for the pool's idle life
	}
	return n, err
}

// keptReplyBuffer is the largest reply buffer a connection keeps.
const keptReplyBuffer = 64 << 10

// Close ends the connection; a Read waiting on it returns io.EOF. A
// connection that subscribed leaves its channels first: miniredis drops a
// subscriber (and stops its two goroutines) only on a disconnect its own
// connections report, and go-redis closes a PubSub without unsubscribing.
func (c *embeddedConn) Close() error {
	if c.subscribed.Swap(false) {
		// A subscribed connection takes no blocking command, so no Write
		// holds writeMu for long.
		c.writeMu.Lock()
		c.unsubscribe()
		c.writeMu.Unlock()
	}
	c.markClosed()
	return nil
}

// unsubscribe leaves every channel and pattern; the caller holds writeMu.
func (c *embeddedConn) unsubscribe() {
	for _, cmd := range []string{"UNSUBSCRIBE", "PUNSUBSCRIBE"} {
		c.srv.Dispatch(c.peer, []string{cmd})
	}
	c.peer.Flush()
}

func (c *embeddedConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *embeddedConn) markClosed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.ready.Broadcast()
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
// from the start of b: its arguments and how many bytes it took. When b
// ends before the command does, n is 0 and need is the length b must
// reach before the command can be complete.
func parseCommand(b []byte) (args []string, n, need int, err error) {
	count, pos, ok, err := respHeader(b, 0, '*')
	if !ok || err != nil {
		return nil, 0, len(b) + 1, err
	}
	if count == 0 {
		return nil, 0, 0, errProtocol
	}
	// Every argument is checked complete before any is copied.
	ends := make([]int, 0, min(count, 16))
	for range count {
		size, next, ok, err := respHeader(b, pos, '$')
		if !ok || err != nil {
			return nil, 0, len(b) + 1, err
		}
		end := next + size
		if len(b) < end+2 {
			return nil, 0, end + 2, nil
		}
		if b[end] != '\r' || b[end+1] != '\n' {
			return nil, 0, 0, errProtocol
		}
		ends = append(ends, next, end)
		pos = end + 2
	}
	args = make([]string, 0, count)
	for i := 0; i < len(ends); i += 2 {
		args = append(args, string(b[ends[i]:ends[i+1]]))
	}
	return args, pos, 0, nil
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
