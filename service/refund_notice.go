package service

import (
	"context"

	"github.com/lianban/lianban/models"
)

// settleRefundNotice applies a channel's refund notification. Until the
// refund workflow exists a refund notification settles nothing.
func (s *Service) settleRefundNotice(ctx context.Context, n models.Notification) (string, error) {
	return OutcomeIgnored, nil
}
