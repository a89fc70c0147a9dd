package kernel

import (
	"context"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

// User loads a user row; a missing user is unauthenticated. It reads
// outside any transaction, so on the read pool (every request asks).
func (s *Kernel) User(ctx context.Context, userID string) (store.UserRow, error) {
	var row store.UserRow
	err := s.Read(ctx).Where("id = ?", userID).Take(&row).Error
	if IsNotFound(err) {
		return row, models.ErrUnauthenticated
	}
	return row, Internal("load user", err)
}
