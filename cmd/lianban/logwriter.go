package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
)

// lineBatcher is the server's log output: Write queues a line and returns,
// and one goroutine writes what has queued, so the lines logged while a
// write is in progress go out together in the next one.
//
// Every API request logs a line. Written straight to stdout, each was a
// write system call made under slog's handler lock: under make perf's
// load the line was 4% of a cached read's CPU (/healthz logs nothing at
// Info), and an execution trace had requests waiting for that lock longer
// than for anything else. An idle server still writes each line at once;
// only under load do lines share a write.
//
// Lines are written in the order they were queued, each whole (slog
// writes a record with one Write). A record at Warn or above is written
// before the call that logs it returns, with every line before it
// (flushAtWarn), so a crash that follows does not take the line that
// explains it; a crash can lose the Info lines still queued (microseconds'
// worth on a healthy stdout, up to maxQueuedLog behind a stalled one).
// When the output falls behind by maxQueuedLog bytes, Write waits, as a
// slow stdout made it wait before.
type lineBatcher struct {
	w io.Writer

	mu      sync.Mutex
	queued  sync.Cond // lines queued, or closing
	drained sync.Cond // the queue was taken, or a batch written
	buf     []byte
	spare   []byte
	writing bool // a batch is being written
	closing bool
	done    chan struct{}
}

// maxQueuedLog is how far the output may fall behind before Write waits.
const maxQueuedLog = 4 << 20

// newLineBatcher starts writing to w; Close stops it.
func newLineBatcher(w io.Writer) *lineBatcher {
	b := &lineBatcher{w: w, done: make(chan struct{})}
	b.queued.L = &b.mu
	b.drained.L = &b.mu
	go b.run()
	return b
}

// Write queues p. Once the batcher is closed it writes p itself, after
// what was queued before.
func (b *lineBatcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.buf) >= maxQueuedLog && !b.closing {
		b.drained.Wait()
	}
	if b.closing {
		b.mu.Unlock()
		<-b.done
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	b.queued.Signal()
	b.mu.Unlock()
	return len(p), nil
}

func (b *lineBatcher) run() {
	defer close(b.done)
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for len(b.buf) == 0 && !b.closing {
			b.queued.Wait()
		}
		if len(b.buf) == 0 {
			return // closing, and everything queued is written
		}
		batch := b.buf
		b.buf, b.spare = b.spare[:0], nil
		b.writing = true
		b.drained.Broadcast()
		b.mu.Unlock()
		_, _ = b.w.Write(batch) // as slog's handler did: nobody to tell
		b.mu.Lock()
		b.writing = false
		b.drained.Broadcast()
		if cap(batch) <= maxQueuedLog {
			b.spare = batch[:0]
		}
	}
}

// Flush returns once every line queued before it has been written.
func (b *lineBatcher) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for (len(b.buf) > 0 || b.writing) && !b.closing {
		b.drained.Wait()
	}
	if b.closing {
		b.mu.Unlock()
		<-b.done // Close writes the rest
		b.mu.Lock()
	}
}

// Close writes what is queued and stops the goroutine; later writes go
// straight to the output.
func (b *lineBatcher) Close() error {
	b.mu.Lock()
	b.closing = true
	b.queued.Signal()
	b.drained.Broadcast()
	b.mu.Unlock()
	<-b.done
	return nil
}

// flushAtWarn is a slog handler that flushes the batcher after each record
// at Warn or above.
type flushAtWarn struct {
	slog.Handler
	out *lineBatcher
}

func (h flushAtWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.out.Flush()
	}
	return err
}

func (h flushAtWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushAtWarn{h.Handler.WithAttrs(attrs), h.out}
}

func (h flushAtWarn) WithGroup(name string) slog.Handler {
	return flushAtWarn{h.Handler.WithGroup(name), h.out}
}
