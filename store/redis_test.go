package store

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// LIANBAN_REDIS picks the client: a redis:// URL is one server, several
// addresses or a URL with addr= parameters a cluster (with its password).
func TestRedisAddressesChooseTheClient(t *testing.T) {
	for _, c := range []struct {
		addr    string
		cluster bool
		nodes   int
	}{
		{"redis://127.0.0.1:6379/2", false, 1},
		{"127.0.0.1:6379", false, 1},
		{"10.0.0.1:7001,10.0.0.2:7001, 10.0.0.3:7001", true, 3},
		{"redis://:s3cret@10.0.0.1:7001?addr=10.0.0.2:7001&addr=10.0.0.3:7001", true, 3},
	} {
		c0, err := newRedisClient(c.addr)
		if err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		switch cl := c0.(type) {
		case *redis.ClusterClient:
			if !c.cluster {
				t.Errorf("%s: a cluster client, want one server", c.addr)
			}
			// The cluster URL's password reaches the cluster's options.
			if strings.Contains(c.addr, "s3cret") && cl.Options().Password != "s3cret" {
				t.Errorf("%s: password %q lost", c.addr, cl.Options().Password)
			}
			if n := len(cl.Options().Addrs); n != c.nodes {
				t.Errorf("%s: %d seed nodes, want %d", c.addr, n, c.nodes)
			}
		case *redis.Client:
			if c.cluster {
				t.Errorf("%s: one server, want a cluster client", c.addr)
			}
			if strings.HasSuffix(c.addr, "/2") && cl.Options().DB != 2 {
				t.Errorf("%s: DB %d, want 2", c.addr, cl.Options().DB)
			}
		default:
			t.Errorf("%s: client %T", c.addr, c0)
		}
		_ = c0.Close()
	}
	for _, bad := range []string{",", "redis://10.0.0.1:7001/1?addr=10.0.0.2:7001"} {
		if c, err := newRedisClient(bad); err == nil {
			_ = c.Close()
			t.Errorf("%q accepted", bad)
		}
	}
}

// On the cluster CI starts (LIANBAN_TEST_REDIS_CLUSTER), both cluster
// spellings connect and are seen as a cluster.
func TestOpenRedisReachesACluster(t *testing.T) {
	addrs := os.Getenv("LIANBAN_TEST_REDIS_CLUSTER")
	if addrs == "" {
		t.Skip("LIANBAN_TEST_REDIS_CLUSTER is not set")
	}
	nodes := strings.Split(addrs, ",")
	url := "redis://" + nodes[0] + "?addr=" + strings.Join(nodes[1:], "&addr=")
	for _, a := range []string{addrs, url} {
		r, err := OpenRedis(context.Background(), a)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if !r.Cluster() || r.Embedded() {
			t.Errorf("%s: cluster=%v embedded=%v", a, r.Cluster(), r.Embedded())
		}
		_ = r.Close()
	}
}

// Addresses of a server without cluster mode (LIANBAN_TEST_REDIS's) are
// refused at start-up, not at the first command.
func TestOpenRedisRefusesAListOfPlainServers(t *testing.T) {
	single := os.Getenv("LIANBAN_TEST_REDIS")
	if single == "" {
		t.Skip("LIANBAN_TEST_REDIS is not set")
	}
	o, err := redis.ParseURL(single)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := OpenRedis(context.Background(), o.Addr+","+o.Addr); err == nil {
		_ = r.Close()
		t.Fatal("two addresses of a plain server were taken for a cluster")
	}
}
