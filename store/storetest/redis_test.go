package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
)

// The slot guard refuses what a cluster refuses — a multi-key command or a
// MULTI/EXEC over keys of different hash tags — and lets through what a
// cluster accepts: keys sharing a tag, and plain pipelines, which a cluster
// client splits by node. On the cluster target the server's own answers
// are checked too, so the guard and a real cluster are seen to agree.
func TestTheSlotGuardRefusesWhatAClusterRefuses(t *testing.T) {
	for _, rt := range RedisTargets() {
		t.Run(rt.Name, func(t *testing.T) {
			ctx := context.Background()
			r, err := store.OpenRedis(ctx, rt.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			g := &slotGuard{}
			guarded := &store.Redis{Client: r.Client}
			guarded.Client.AddHook(g)
			p := "lbt:guard:" + rt.Name
			refused := []struct {
				name string
				run  func(c redis.UniversalClient) error
			}{
				{"MGET", func(c redis.UniversalClient) error { return c.MGet(ctx, p+":{a}", p+":{b}").Err() }},
				{"DEL", func(c redis.UniversalClient) error { return c.Del(ctx, p+":a", p+":b").Err() }},
				{"EVAL", func(c redis.UniversalClient) error {
					return c.Eval(ctx, "return 1", []string{p + ":{a}:x", p + ":{b}:x"}).Err()
				}},
				{"MULTI", func(c redis.UniversalClient) error {
					_, err := c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
						pipe.Incr(ctx, p+":{a}:n")
						pipe.Incr(ctx, p+":{b}:n")
						return nil
					})
					return err
				}},
			}
			for _, c := range refused {
				if err := c.run(guarded.Client); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
					t.Errorf("%s across hash tags through the guard: %v, want CROSSSLOT", c.name, err)
				}
			}
			if n := len(g.crossed()); n != len(refused) {
				t.Errorf("guard recorded %d crossings, want %d: %v", n, len(refused), g.crossed())
			}
			if r.Cluster() {
				raw, err := store.OpenRedis(ctx, rt.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				for _, c := range refused {
					if err := c.run(raw.Client); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
						t.Errorf("%s across slots on the cluster itself: %v, want CROSSSLOT", c.name, err)
					}
				}
			}

			before := len(g.crossed())
			if err := guarded.Client.MGet(ctx, p+":{a}:v", p+":{a}").Err(); err != nil {
				t.Errorf("MGET within one hash tag: %v", err)
			}
			if _, err := guarded.Client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Incr(ctx, p+":{a}:n")
				pipe.Expire(ctx, p+":{a}:n", 60e9)
				return nil
			}); err != nil {
				t.Errorf("MULTI within one hash tag: %v", err)
			}
			if _, err := guarded.Client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Incr(ctx, p+":{a}:n")
				pipe.Incr(ctx, p+":{b}:n")
				pipe.Del(ctx, p+":{a}:n")
				pipe.Del(ctx, p+":{b}:n")
				return nil
			}); err != nil {
				t.Errorf("a plain pipeline across hash tags: %v", err)
			}
			if after := len(g.crossed()); after != before {
				t.Errorf("guard recorded commands a cluster accepts: %v", g.crossed()[before:])
			}
		})
	}
}

func TestHashTags(t *testing.T) {
	for key, want := range map[string]string{
		"lb:payables:{p1}:v": "p1",
		"lb:payables:{p1}":   "p1",
		"lb:sess:abc":        "lb:sess:abc",
		"a{}b{c}":            "a{}b{c}", // an empty first tag: the whole key, as Redis does
		"a{b":                "a{b",
		"{x}{y}":             "x",
	} {
		if got := hashTag(key); got != want {
			t.Errorf("hashTag(%q) = %q, want %q", key, got, want)
		}
	}
}

// GetExWith reads a key (renewing its TTL) and further keys in one round
// trip on every Redis: on one server of its own as one script through the
// autopipeliner (loaded when the server lacks it), elsewhere (the
// embedded server, a cluster) and on a server whose ACL refuses scripts
// as GETEX and MGET, with the same answers.
func TestGetExWithReadsAKeyAndItsCompanionsOnEveryRedis(t *testing.T) {
	for _, rt := range RedisTargets() {
		t.Run(rt.Name, func(t *testing.T) {
			ctx := context.Background()
			r := rt.Open(t)
			// check reads through r and returns the commands it sent.
			check := func(t *testing.T, r *store.Redis) []string {
				t.Helper()
				p := "lbt:getexwith:" + t.Name()
				key, a, b := p+":sess", p+":{p1}:a", p+":{p1}:b"
				if err := r.Client.Set(ctx, key, "session", time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
				if err := r.Client.Set(ctx, a, "A", time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
				defer r.Client.Del(ctx, key)
				defer r.Client.Del(ctx, a)
				sent := &commandNames{}
				r.Client.AddHook(sent)
				raw, vals, err := r.GetExWith(ctx, key, time.Hour, []string{a, b})
				if err != nil || string(raw) != "session" || len(vals) != 2 || vals[0] != "A" || vals[1] != nil {
					t.Fatalf("GetExWith = %q, %v, %v; want session, [A <nil>]", raw, vals, err)
				}
				if raw, vals, err := r.GetExWith(ctx, key, time.Hour, nil); err != nil || string(raw) != "session" || vals != nil {
					t.Errorf("GetExWith with no further keys = %q, %v, %v", raw, vals, err)
				}
				if _, _, err := r.GetExWith(ctx, p+":gone", time.Hour, []string{a}); !errors.Is(err, redis.Nil) {
					t.Errorf("GetExWith of a missing key: %v, want redis.Nil", err)
				}
				names := sent.list()
				if ttl := r.Client.TTL(ctx, key).Val(); ttl < 59*time.Minute {
					t.Errorf("the key's TTL is %v after GetExWith, want renewed to an hour", ttl)
				}
				return names
			}
			first := check(t, r)
			single := rt.Name != "cluster" && !r.Embedded()
			if got := r.Batcher() != nil; got != single {
				t.Fatalf("Batcher() present = %v, want %v (only on one server of its own)", got, single)
			}
			if !single {
				if strings.Contains(strings.Join(first, " "), "eval") {
					t.Errorf("a script was sent where the keys may live on different nodes: %v", first)
				}
				return
			}
			if want := "evalsha evalsha evalsha"; strings.Join(first, " ") != want && !strings.HasPrefix(strings.Join(first, " "), "evalsha eval ") {
				t.Errorf("one server was sent %v, want the script alone (%s)", first, want)
			}
			// A server that has lost its scripts (a restart, SCRIPT FLUSH)
			// is sent the script itself. A server of the test's own: the
			// shared one's scripts belong to every package's tests.
			m := miniredis.RunT(t)
			own := &store.Redis{Client: redis.NewClient(&redis.Options{Addr: m.Addr()})}
			defer own.Close()
			check(t, own)
			if err := own.Client.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(check(t, own), " "); !strings.HasPrefix(got, "evalsha eval evalsha") {
				t.Errorf("after SCRIPT FLUSH: %s, want evalsha refused then eval, then evalsha again", got)
			}
			// A user whose ACL refuses scripts: the same answers by GETEX
			// and MGET, and after the first refusal no script is sent.
			user, pass := "lbt-noscript-"+rand.Text()[:8], rand.Text()
			if err := r.Client.Do(ctx, "ACL", "SETUSER", user, "on", ">"+pass, "~lbt:*",
				"+@connection", "+@string", "+@keyspace", "+@read", "-@scripting").Err(); err != nil {
				t.Fatalf("ACL SETUSER (the test's Redis user needs ACL rights): %v", err)
			}
			t.Cleanup(func() { r.Client.Do(context.Background(), "ACL", "DELUSER", user) })
			o := *r.Client.(*redis.Client).Options()
			o.Username, o.Password = user, pass
			var logged bytes.Buffer
			noScripts := &store.Redis{Client: redis.NewClient(&o), Log: slog.New(slog.NewTextHandler(&logged, nil))}
			defer noScripts.Close()
			if err := noScripts.Client.Eval(ctx, "return 1", nil).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
				t.Fatalf("the ACL lets scripts run (%v): the fallback is not tested", err)
			}
			if got := strings.Join(check(t, noScripts), " "); got != "evalsha getex mget getex getex mget" {
				t.Errorf("a server refusing scripts was sent %q, want one refused evalsha, then GETEX and MGET", got)
			}
			// The operator learns of it once, with the server's words.
			if n := strings.Count(logged.String(), "refuses the session read's script"); n != 1 || !strings.Contains(logged.String(), "NOPERM") {
				t.Errorf("want one warning naming the refusal, got %d:\n%s", n, logged.String())
			}
		})
	}
}

// commandNames records the names of the commands sent, in order, but for
// those go-redis sends to set a new connection up.
type commandNames struct {
	mu    sync.Mutex
	names []string
}

func (h *commandNames) add(cmds ...redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range cmds {
		switch n := c.Name(); n {
		case "hello", "client", "auth": // a new connection's own
		default:
			h.names = append(h.names, n)
		}
	}
}

func (h *commandNames) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.names...)
}

func (h *commandNames) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *commandNames) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.add(cmd); return next(ctx, cmd) }
}

func (h *commandNames) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.add(cmds...); return next(ctx, cmds) }
}

// A batched read heeds its caller's context: a Redis that accepts
// connections and never answers holds the batch, not the requests queued
// behind it, each of which ends with its own deadline (a plain command
// would have waited for its read timeout, here a minute).
func TestGetExWithOnAHungRedisEndsWithTheCallersContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }() // read, never answer
		}
	}()
	r := &store.Redis{Client: redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: time.Minute, MaxRetries: -1})}
	if r.Batcher() == nil {
		t.Fatal("no batcher for one server")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, _, err := r.GetExWith(ctx, "lbt:hung:sess", time.Hour, []string{fmt.Sprintf("lbt:hung:{p}:%d", i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a read on a hung Redis ended with %v, want its caller's deadline", err)
		}
	}
	// go-redis's own Close waits for the hung batch to drain, up to its
	// 30 s backstop; a shutdown waits CloseWait and goes on.
	r.CloseWait = 300 * time.Millisecond
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		if err == nil {
			t.Error("Close on a hung Redis reported nothing")
		}
	case <-time.After(10 * time.Second):
		t.Error("Close on a hung Redis did not return within 10 s (CloseWait 300 ms)")
	}
}
