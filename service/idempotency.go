package service

import (
	"context"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

// Replay is a remembered response to an Idempotency-Key.
type Replay struct {
	Status int
	Body   []byte
}

// IdempotencyBegin claims key for a request with the given body hash. It
// returns the stored response when the key was used before with the same
// body, IDEMPOTENCY_KEY_REUSED with another body, and a conflict while the
// first request is still running. The row lives in the database, so a
// replay survives a Redis outage.
func (s *Service) IdempotencyBegin(ctx context.Context, userID, op, key, hash string) (*Replay, error) {
	row := store.IdempotencyRow{UserID: userID, Operation: op, IdemKey: key, RequestHash: hash, CreatedAt: s.now()}
	err := s.db(ctx).Create(&row).Error
	if err == nil {
		return nil, nil
	}
	if !isDuplicate(err) {
		return nil, internal("idempotency", err)
	}
	if err := s.db(ctx).Where("user_id = ? AND operation = ? AND idem_key = ?", userID, op, key).Take(&row).Error; err != nil {
		return nil, internal("idempotency", err)
	}
	if row.RequestHash != hash {
		return nil, models.ErrIdempotencyReused
	}
	if row.StatusCode == 0 {
		return nil, &models.Error{Kind: models.KindConflict, Code: "REQUEST_IN_PROGRESS", Message: "请求正在处理中，请稍后查询结果"}
	}
	return &Replay{Status: row.StatusCode, Body: []byte(row.Body)}, nil
}

// IdempotencyFinish stores the response for key.
func (s *Service) IdempotencyFinish(ctx context.Context, userID, op, key string, status int, body []byte) {
	if err := s.db(ctx).Model(&store.IdempotencyRow{}).Where("user_id = ? AND operation = ? AND idem_key = ?", userID, op, key).
		Updates(map[string]any{"status_code": status, "body": string(body)}).Error; err != nil {
		s.Log.ErrorContext(ctx, "idempotency response not stored", "op", op, "err", err)
	}
}

// IdempotencyAbort forgets key so a retry runs again.
func (s *Service) IdempotencyAbort(ctx context.Context, userID, op, key string) {
	if err := s.db(ctx).Where("user_id = ? AND operation = ? AND idem_key = ? AND status_code = 0", userID, op, key).
		Delete(&store.IdempotencyRow{}).Error; err != nil {
		s.Log.ErrorContext(ctx, "idempotency key not released", "op", op, "err", err)
	}
}
