package service

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// SandboxPay pays (or fails) an order at its channel's fake cashier; the
// result then arrives through the channel's real notification route.
func (s *Service) SandboxPay(ctx context.Context, orderNo string, success bool) error {
	c, err := s.sandboxCashier(ctx, orderNo)
	if err != nil {
		return err
	}
	if err := c.Pay(ctx, orderNo, success); err != nil {
		return models.ErrUnavailable.WithReason(err.Error())
	}
	return nil
}

// HeldNotification is a channel's signed notification that was not
// delivered: what the channel would POST to URL.
type HeldNotification struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// SandboxPayHeld pays an order at the sandbox cashier and returns the
// notification instead of delivering it; the order stays paying until
// someone delivers it to the notify route. Only the sandbox channel's own
// fake holds notifications.
func (s *Service) SandboxPayHeld(ctx context.Context, orderNo string) (HeldNotification, error) {
	c, err := s.sandboxCashier(ctx, orderNo)
	if err != nil {
		return HeldNotification{}, err
	}
	hc, ok := c.(kernel.HoldingCashier)
	if !ok {
		return HeldNotification{}, models.ErrChannelUnsupported.WithReason("该渠道的模拟收银台不能暂存支付通知")
	}
	header, body, err := hc.PayHeld(orderNo)
	if err != nil {
		return HeldNotification{}, models.ErrUnavailable.WithReason(err.Error())
	}
	n := HeldNotification{URL: hc.NotifyURL(), Headers: map[string]string{}, Body: string(body)}
	for k := range header {
		n.Headers[k] = header.Get(k)
	}
	return n, nil
}

// sandboxCashier is the fake cashier of a paying order's channel.
func (s *Service) sandboxCashier(ctx context.Context, orderNo string) (kernel.Cashier, error) {
	if !s.Opt.Sandbox {
		return nil, models.ErrNotFound
	}
	var o store.OrderRow
	if err := s.Conn(ctx).Where("order_no = ?", orderNo).Take(&o).Error; err != nil {
		if kernel.IsNotFound(err) {
			return nil, models.ErrNotFound
		}
		return nil, kernel.Internal("order", err)
	}
	c, ok := s.Cashiers[o.Channel]
	if !ok {
		return nil, models.ErrChannelUnsupported.WithReason("该渠道使用真实商户配置，无法模拟支付")
	}
	if o.Status != contrib.OrderPaying {
		return nil, models.ErrOrderNotPayable
	}
	return c, nil
}

// RunWorkers runs the background loops until ctx ends: settlement
// progress (入库, 记账), lost-notification queries and closing of expired
// orders, the release of expired declarations, and the purge of
// uploads no application carries and of partner nonces past their window.
// Several instances may run them at once: every move is a conditional
// update, and a step that calls an outside party (a channel, the bank, the
// treasury, the agency) claims each object first with a work lease
// (kernel.ClaimWork; reconciliation runs hold their own lease), so one
// instance works it at a time and an instance that dies leaves it to the
// others when the lease ends.
func (s *Service) RunWorkers(ctx context.Context) error {
	t := time.NewTicker(s.Opt.WorkerInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.WorkOnce(ctx)
	}
}

// WorkOnce runs one pass of every background step; tests call it with a
// manual clock.
func (s *Service) WorkOnce(ctx context.Context) {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		// First, so that work whose claim could not be handed back is not
		// kept waiting for its lease to end.
		{"hand back unreleased work claims", s.RetryWorkReleases},
		{"follow paying orders", s.FollowPayingOrders},
		{"follow unit payments", s.FollowUnitPayments},
		{"close unconfirmed counter orders", s.CloseStaleCounterOrders},
		{"treasury credit", s.AdvanceCredits},
		{"agency booking", s.AdvanceBookings},
		{"expire declarations", s.ExpireDeclarations},
		{"refund payouts", s.RefundWork},
		{"reconcile yesterday's bills", s.ReconcileYesterday},
		{"remind of closing windows", s.RemindPeriodEnding},
		{"purge rate-limit windows", s.PurgeRateLimits},
		{"purge unattached uploads", s.PurgeUnattachedUploads},
		{"purge expired partner nonces", s.PurgePartnerNonces},
		{"fill record payer names", s.fillRecordPayers},
	}
	for _, st := range steps {
		if ctx.Err() != nil {
			return
		}
		if err := st.fn(ctx); err != nil {
			s.Log.ErrorContext(ctx, "worker step failed", "step", st.name, "err", err)
		}
	}
}

// fillRecordPayers names the payers of records written before migration
// 0013 (contrib.FillRecordPayers), a batch per pass.
func (s *Service) fillRecordPayers(ctx context.Context) error {
	_, err := s.FillRecordPayers(ctx)
	return err
}
