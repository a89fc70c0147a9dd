package storetest

import (
	"context"
	"strings"
	"testing"

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
