package kernel

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

// Replay is a remembered response to an Idempotency-Key.
type Replay struct {
	Status int
	Body   []byte
}

// IdempotencyAbandonAfter is how long a key may stay in progress. Past it
// the request that claimed the key is taken for dead (its process died, or
// it hung beyond every timeout: the HTTP server's write timeout is 60s and
// the channels' 15s), and a retry with the key runs the operation again.
// Running it twice is safe: the domain's own guards keep it single (one
// open order per declaration, one declaration per month, one open refund
// application per person and scheme).
const IdempotencyAbandonAfter = 2 * time.Minute

// IdempotencyBegin claims key for a request with the given body hash. It
// returns the stored response when the key was used before with the same
// body, IDEMPOTENCY_KEY_REUSED with another body, and a conflict while the
// first request is still running. A key left in progress longer than
// IdempotencyAbandonAfter is claimed anew (by one retry only), so the
// retries of a request whose process died are not refused for good. The
// row lives in the database, so a replay survives a Redis outage.
func (s *Kernel) IdempotencyBegin(ctx context.Context, userID, op, key, hash string) (*Replay, error) {
	row := store.IdempotencyRow{UserID: userID, Operation: op, IdemKey: key, RequestHash: hash, CreatedAt: s.Now()}
	err := s.Conn(ctx).Create(&row).Error
	if err == nil {
		return nil, nil
	}
	if !IsDuplicate(err) {
		return nil, Internal("idempotency", err)
	}
	if err := s.Conn(ctx).Where("user_id = ? AND operation = ? AND idem_key = ?", userID, op, key).Take(&row).Error; err != nil {
		return nil, Internal("idempotency", err)
	}
	if row.RequestHash != hash {
		return nil, models.ErrIdempotencyReused
	}
	if row.StatusCode != 0 {
		return &Replay{Status: row.StatusCode, Body: []byte(row.Body)}, nil
	}
	inProgress := models.ErrRequestInProgress
	now := s.Now()
	cutoff := now.Add(-IdempotencyAbandonAfter)
	if !row.CreatedAt.Before(cutoff) {
		return nil, inProgress
	}
	// Abandoned: claim it again. The condition lets one retry of many
	// through; the claim time moves on, so the others see it in progress.
	res := s.Conn(ctx).Model(&store.IdempotencyRow{}).
		Where("user_id = ? AND operation = ? AND idem_key = ? AND status_code = 0 AND created_at < ?", userID, op, key, cutoff).
		Update("created_at", now)
	if res.Error != nil {
		return nil, Internal("idempotency", res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, inProgress
	}
	s.Log.WarnContext(ctx, "idempotency key abandoned by its request; running again", "op", op, "claimed_at", row.CreatedAt)
	return nil, nil
}

// IdempotencyFinish stores the response for key. The first response
// stored stays: a request that outlived its claim (abandoned, then run
// again by a retry) does not overwrite the answer replays already got.
func (s *Kernel) IdempotencyFinish(ctx context.Context, userID, op, key string, status int, body []byte) {
	if err := s.Conn(ctx).Model(&store.IdempotencyRow{}).Where("user_id = ? AND operation = ? AND idem_key = ? AND status_code = 0", userID, op, key).
		Updates(map[string]any{"status_code": status, "body": string(body)}).Error; err != nil {
		s.Log.ErrorContext(ctx, "idempotency response not stored", "op", op, "err", err)
	}
}

// IdempotencyAbort forgets key so a retry runs again.
func (s *Kernel) IdempotencyAbort(ctx context.Context, userID, op, key string) {
	if err := s.Conn(ctx).Where("user_id = ? AND operation = ? AND idem_key = ? AND status_code = 0", userID, op, key).
		Delete(&store.IdempotencyRow{}).Error; err != nil {
		s.Log.ErrorContext(ctx, "idempotency key not released", "op", op, "err", err)
	}
}
