package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatedWriter records what it is given; while its gate is shut a Write
// waits.
type gatedWriter struct {
	mu      sync.Mutex
	out     bytes.Buffer
	writes  int
	gate    chan struct{} // closed: open
	waiting chan struct{} // a Write came to the gate (buffered)
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{gate: make(chan struct{}), waiting: make(chan struct{}, 1)}
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	select {
	case w.waiting <- struct{}{}:
	default:
	}
	<-w.gate
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.out.Write(p)
}

func (w *gatedWriter) snapshot() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String(), w.writes
}

// Lines logged at once by many requests all come out, whole and each
// request's in order, and fewer writes carry them than there were lines.
func TestLogLinesShareWritesAndNoneIsLostOrTorn(t *testing.T) {
	w := newGatedWriter()
	b := newLineBatcher(w)
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				line := fmt.Sprintf("{\"writer\":%d,\"line\":%d,\"pad\":%q}\n", g, i, strings.Repeat("x", i%40))
				if n, err := b.Write([]byte(line)); err != nil || n != len(line) {
					t.Errorf("write: %d, %v", n, err)
				}
			}
		}()
	}
	wg.Wait() // every line queued while the output was shut
	close(w.gate)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	out, writes := w.snapshot()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != writers*each {
		t.Fatalf("%d lines came out, want %d", len(lines), writers*each)
	}
	next := make([]int, writers)
	for _, l := range lines {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(l, "{\"writer\":%d,\"line\":%d,\"pad\":%q}", &g, &i, &pad); err != nil || len(pad) != i%40 {
			t.Fatalf("torn line %q: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d came after line %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if writes >= writers*each/2 {
		t.Errorf("%d writes for %d lines queued behind a slow output", writes, writers*each)
	}

	// Closed, it writes straight through.
	if _, err := b.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	if out, _ := w.snapshot(); !strings.HasSuffix(out, "after\n") {
		t.Error("a line written after Close did not come out")
	}
}

// An output that stops takes the queue up to its bound, then holds the
// logging request back, as a slow stdout did before.
func TestALogOutputThatFallsBehindHoldsTheLoggerBack(t *testing.T) {
	w := newGatedWriter()
	b := newLineBatcher(w)
	line := []byte(strings.Repeat("y", 1023) + "\n")
	if _, err := b.Write(line); err != nil {
		t.Fatal(err)
	}
	<-w.waiting // the writer took that line and waits at the gate
	filled := make(chan int)
	go func() {
		n := 0
		for range maxQueuedLog/len(line) + 8 {
			_, _ = b.Write(line)
			n++
		}
		filled <- n
	}()
	select {
	case n := <-filled:
		t.Fatalf("%d lines queued behind a stopped output without waiting", n)
	case <-time.After(200 * time.Millisecond):
	}
	close(w.gate)
	select {
	case <-filled:
	case <-time.After(5 * time.Second):
		t.Fatal("the logger still waits once the output moves")
	}
	_ = b.Close()
	if out, _ := w.snapshot(); len(out) != (maxQueuedLog/len(line)+9)*len(line) {
		t.Errorf("%d bytes came out, want %d", len(out), (maxQueuedLog/len(line)+9)*len(line))
	}
}

// An Info line is queued; a Warn or Error line is out, with every line
// before it, by the time the call that logs it returns, so a crash right
// after it does not take it.
func TestAWarningIsWrittenBeforeTheLoggerReturns(t *testing.T) {
	w := newGatedWriter()
	b := newLineBatcher(w)
	gateOpen := false
	defer func() {
		if !gateOpen {
			close(w.gate) // or Close would wait for the shut output
		}
		_ = b.Close()
	}()
	log := slog.New(flushAtWarn{slog.NewJSONHandler(b, nil), b}).With("component", "test")
	log.Info("first") // queued at once, though the output is shut
	<-w.waiting
	logged := make(chan struct{})
	go func() {
		log.Error("the reason for the crash")
		close(logged)
	}()
	select {
	case <-logged:
		t.Fatal("an Error record returned before its line was written")
	case <-time.After(100 * time.Millisecond):
	}
	close(w.gate)
	gateOpen = true
	select {
	case <-logged:
	case <-time.After(5 * time.Second):
		t.Fatal("the Error record still waits once the output moves")
	}
	out, _ := w.snapshot()
	if !strings.Contains(out, `"msg":"first"`) || !strings.Contains(out, `"msg":"the reason for the crash","component":"test"`) {
		t.Errorf("output %q lacks a line", out)
	}
}
