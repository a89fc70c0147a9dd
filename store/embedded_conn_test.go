package store

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// embeddedServer is a started miniredis, closed with the test.
func embeddedServer(t *testing.T) *miniredis.Miniredis {
	t.Helper()
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// readAll reads from c until want bytes came or the read fails.
func readAll(t *testing.T, c *embeddedConn, want int) string {
	t.Helper()
	buf := make([]byte, 0, want)
	for len(buf) < want {
		p := make([]byte, want-len(buf))
		if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(p)
		buf = append(buf, p[:n]...)
		if err != nil {
			t.Fatalf("read after %q: %v", buf, err)
		}
	}
	return string(buf)
}

// A pipeline may arrive in pieces cut anywhere, and its commands run in
// order with their replies in order.
func TestAnEmbeddedConnectionRunsCommandsCutAnywhere(t *testing.T) {
	m := embeddedServer(t)
	const pipeline = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\r\n\r\n" + // a value holding CRLFs
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" +
		"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
	const replies = "+OK\r\n$5\r\nv\r\n\r\n\r\n:1\r\n"
	for _, step := range []int{1, 2, 7, len(pipeline)} {
		m.FlushAll()
		c := newEmbeddedConn(m.Server())
		for i := 0; i < len(pipeline); i += step {
			end := min(i+step, len(pipeline))
			if n, err := c.Write([]byte(pipeline[i:end])); err != nil || n != end-i {
				t.Fatalf("step %d: write %q: %d, %v", step, pipeline[i:end], n, err)
			}
		}
		if got := readAll(t, c, len(replies)); got != replies {
			t.Errorf("step %d: replies %q, want %q", step, got, replies)
		}
		if v, _ := m.Get("k"); v != "v\r\n\r\n" {
			t.Errorf("step %d: k = %q", step, v)
		}
	}
}

// What is not a command is refused, not guessed at.
func TestAnEmbeddedConnectionRefusesWhatIsNotACommand(t *testing.T) {
	m := embeddedServer(t)
	for _, bad := range []string{"PING\r\n", "*0\r\n", "*1\r\n$x\r\n", "*1\r\n$3\r\nGETX\r\n", "*-1\r\n"} {
		c := newEmbeddedConn(m.Server())
		if _, err := c.Write([]byte(bad)); !errors.Is(err, errProtocol) {
			t.Errorf("write %q: %v, want errProtocol", bad, err)
		}
	}
}

// With nothing to read, Read waits: for a reply from elsewhere, until
// its deadline (a timeout, as go-redis expects of a net.Conn) or until
// the connection closes.
func TestAnEmbeddedConnectionWaitsForAReply(t *testing.T) {
	m := embeddedServer(t)
	c := newEmbeddedConn(m.Server())

	start := time.Now()
	if err := c.SetReadDeadline(start.Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing sent: %v, want a deadline error", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the deadline", waited)
	}

	_ = c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("read returned %v with nothing to read", err)
	case <-time.After(20 * time.Millisecond):
	}
	_ = c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("read on a closed connection: %v, want EOF", err)
		}
	case <-time.After(time.Second):
		t.Fatal("close did not wake the read")
	}
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err == nil {
		t.Error("a closed connection took a write")
	}
}

// Through go-redis: a subscriber hears what another connection publishes
// (a reply written from another goroutine), and concurrent requests on
// the pool's connections each get their own replies.
func TestTheEmbeddedRedisServesThePool(t *testing.T) {
	ctx := context.Background()
	r, err := OpenRedis(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })

	sub := r.Client.Subscribe(ctx, "news")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	if err := r.Client.Publish(ctx, "news", "hello").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-sub.Channel():
		if msg.Payload != "hello" {
			t.Errorf("message %q", msg.Payload)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the subscriber heard nothing")
	}
	// Closed, the subscriber is gone from the server (miniredis forgets
	// one only when its connection says so).
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if n := r.Client.PubSubNumSub(ctx, "news").Val()["news"]; n != 0 {
		t.Errorf("%d subscribers to news after the only one closed", n)
	}
	if n := r.Client.Publish(ctx, "news", "anyone?").Val(); n != 0 {
		t.Errorf("a message reached %d closed subscribers", n)
	}

	// A value larger than go-redis's write buffer arrives in pieces.
	big := strings.Repeat("0123456789abcdef", 300_000) // 4.8 MB
	if err := r.Client.Set(ctx, "big", big, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Client.Get(ctx, "big").Result(); err != nil || got != big {
		t.Fatalf("a 4.8 MB value came back %d bytes long: %v", len(got), err)
	}

	const workers, each = 16, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "w" + string(rune('a'+w))
			for i := range each {
				pipe := r.Client.Pipeline()
				incr := pipe.Incr(ctx, "total")
				set := pipe.Set(ctx, key, i, 0)
				get := pipe.Get(ctx, key)
				if _, err := pipe.Exec(ctx); err != nil || incr.Val() < 1 || set.Err() != nil {
					t.Errorf("pipeline: %v", err)
					return
				}
				if v, _ := get.Int(); v != i {
					t.Errorf("%s read %d after writing %d", key, v, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := r.Client.Get(ctx, "total").Int(); n != workers*each {
		t.Errorf("total %d, want %d", n, workers*each)
	}
}

// The TTL tick holds the embedded server's lock: with many keys it comes
// less often, so commands wait for it at most a hundredth of the time,
// and never so rarely that a key outlives its TTL by more than 2 s.
func TestTheEmbeddedTickBacksOffWithItsCost(t *testing.T) {
	for _, c := range []struct{ took, want time.Duration }{
		{0, 100 * time.Millisecond},
		{300 * time.Microsecond, 100 * time.Millisecond}, // 1,000 keys
		{5 * time.Millisecond, 500 * time.Millisecond},   // 20,000
		{26 * time.Millisecond, 2 * time.Second},         // 50,000
		{time.Second, 2 * time.Second},
	} {
		if got := tickAfter(embeddedTick, c.took); got != c.want {
			t.Errorf("a tick of %v: next in %v, want %v", c.took, got, c.want)
		}
	}
}
