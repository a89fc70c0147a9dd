package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
)

// RedisCache adapts a go-redis v9 client to silenceper's cache.ContextCache
// (silenceper's bundled adapter speaks go-redis v8). Values are stored and
// returned as strings, because silenceper's token code asserts val.(string).
//
// Every Redis error is a miss: Get returns nil, IsExist false. The caller
// then fetches from WeChat, which is slower but correct; failing instead
// would turn a cache outage into a login outage.
type RedisCache struct {
	rdb redis.UniversalClient
	log *slog.Logger
}

var _ cache.ContextCache = (*RedisCache)(nil)

// NewRedisCache returns a cache over rdb. log may be nil.
func NewRedisCache(rdb redis.UniversalClient, log *slog.Logger) *RedisCache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisCache{rdb: rdb, log: log}
}

// GetContext returns the string stored at key, or nil on a miss or an error.
func (c *RedisCache) GetContext(ctx context.Context, key string) interface{} {
	v, err := c.rdb.Get(ctx, key).Result()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.log.WarnContext(ctx, "wechat: redis get failed, treated as a cache miss", "key", key, "err", err)
		}
		return nil
	}
	return v
}

// SetContext stores val as a string. A timeout <= 0 is refused: go-redis
// would store the value without expiry, and a token cached forever is a
// token that goes stale.
func (c *RedisCache) SetContext(ctx context.Context, key string, val interface{}, timeout time.Duration) error {
	if timeout <= 0 {
		return fmt.Errorf("wechat: refusing to cache %s without expiry", key)
	}
	var s string
	switch v := val.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case fmt.Stringer:
		s = v.String()
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("wechat: cache value for %s: %w", key, err)
		}
		s = string(b)
	}
	return c.rdb.Set(ctx, key, s, timeout).Err()
}

// IsExistContext reports whether key exists; an error reports false.
func (c *RedisCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := c.rdb.Exists(ctx, key).Result()
	return err == nil && n > 0
}

// DeleteContext deletes key.
func (c *RedisCache) DeleteContext(ctx context.Context, key string) error {
	return c.rdb.Del(ctx, key).Err()
}

// Get is GetContext without a context, for silenceper's older interface.
func (c *RedisCache) Get(key string) interface{} { return c.GetContext(context.Background(), key) }

// Set is SetContext without a context.
func (c *RedisCache) Set(key string, val interface{}, timeout time.Duration) error {
	return c.SetContext(context.Background(), key, val, timeout)
}

// IsExist is IsExistContext without a context.
func (c *RedisCache) IsExist(key string) bool { return c.IsExistContext(context.Background(), key) }

// Delete is DeleteContext without a context.
func (c *RedisCache) Delete(key string) error { return c.DeleteContext(context.Background(), key) }

// stableTokenCacheKey is the key silenceper's StableAccessToken uses, so a
// tool built on silenceper with the same Redis shares our token (and an
// operator following silenceper's docs finds it).
func stableTokenCacheKey(appID string) string {
	return credential.CacheKeyMiniProgramPrefix + "_stable_access_token_" + appID
}

// tokenFetcher gets a fresh token from WeChat.
type tokenFetcher func(ctx context.Context) (credential.ResAccessToken, error)

// redisCopyLifetime is how long a token read from Redis is kept in memory:
// less than the five minutes it is still valid for after Redis expires it.
const redisCopyLifetime = 4 * time.Minute

// tokenSource hands out the mini-program's access token: from memory, else
// from Redis (shared by all replicas), else from WeChat's stable_token
// endpoint. Memory first means a Redis outage costs nothing while the
// in-memory copy lasts, instead of a failed round trip on every call.
type tokenSource struct {
	cache cache.ContextCache // nil: memory only
	key   string
	fetch tokenFetcher
	now   func() time.Time
	log   *slog.Logger

	// lock serialises fetches so concurrent misses make one call to WeChat;
	// a channel rather than a mutex so a waiter can give up with its ctx.
	lock chan struct{}

	mu       sync.Mutex
	mem      string
	memUntil time.Time
}

var _ credential.AccessTokenContextHandle = (*tokenSource)(nil)

func newTokenSource(c cache.ContextCache, key string, fetch tokenFetcher, log *slog.Logger) *tokenSource {
	return &tokenSource{cache: c, key: key, fetch: fetch, now: time.Now, log: log, lock: make(chan struct{}, 1)}
}

// GetAccessToken implements credential.AccessTokenHandle.
func (t *tokenSource) GetAccessToken() (string, error) {
	return t.GetAccessTokenContext(context.Background())
}

// GetAccessTokenContext implements credential.AccessTokenContextHandle.
func (t *tokenSource) GetAccessTokenContext(ctx context.Context) (string, error) {
	if tok := t.cached(ctx); tok != "" {
		return tok, nil
	}
	select {
	case t.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.lock }()
	// Someone else may have fetched while we waited.
	if tok := t.cached(ctx); tok != "" {
		return tok, nil
	}
	res, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	expires := time.Duration(res.ExpiresIn) * time.Second
	// Refresh five minutes early, as silenceper does for stable tokens; with
	// a short expiry (a test fake) keep half of it instead of a TTL <= 0.
	ttl := expires - 5*time.Minute
	if ttl < time.Minute {
		ttl = expires / 2
	}
	if ttl <= 0 {
		return res.AccessToken, nil // unusable expiry: use once, cache nothing
	}
	t.mu.Lock()
	t.mem, t.memUntil = res.AccessToken, t.now().Add(ttl)
	t.mu.Unlock()
	if t.cache != nil {
		if err := t.cache.SetContext(ctx, t.key, res.AccessToken, ttl); err != nil {
			t.log.WarnContext(ctx, "wechat: caching the access token in redis failed; kept in memory", "err", err)
		}
	}
	return res.AccessToken, nil
}

func (t *tokenSource) cached(ctx context.Context) string {
	now := t.now()
	t.mu.Lock()
	if t.mem != "" && now.Before(t.memUntil) {
		tok := t.mem
		t.mu.Unlock()
		return tok
	}
	t.mu.Unlock()
	if t.cache == nil {
		return ""
	}
	tok, ok := t.cache.GetContext(ctx, t.key).(string)
	if !ok || tok == "" {
		return ""
	}
	// Keep what another replica fetched. Redis drops a token five minutes
	// before WeChat does, so one read from it is good for that long.
	t.mu.Lock()
	t.mem, t.memUntil = tok, now.Add(redisCopyLifetime)
	t.mu.Unlock()
	return tok
}

// invalidate forgets tok after WeChat said it is invalid, unless a newer
// token has replaced it in the meantime.
func (t *tokenSource) invalidate(ctx context.Context, tok string) {
	t.mu.Lock()
	if t.mem == tok {
		t.mem = ""
	}
	t.mu.Unlock()
	if t.cache != nil {
		if v, ok := t.cache.GetContext(ctx, t.key).(string); ok && v == tok {
			if err := t.cache.DeleteContext(ctx, t.key); err != nil {
				t.log.WarnContext(ctx, "wechat: dropping the invalid access token from redis failed", "err", err)
			}
		}
	}
}
