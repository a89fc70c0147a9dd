package kernel

import (
	"context"

	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// AnomalyNote is what an anomaly records: what did not match, for which
// order or refund, how much money, and what the system already did about it.
type AnomalyNote struct {
	Source, Channel, OrderNo, RefundNo, Kind, Detail, SystemAction string
	AmountFen                                                      int64
}

// AnomalyTx records an anomaly. What queries, the worker, reconciliation
// and staff actions find is recorded once while the same kind is open for
// the order: a payer polling an order paid with another amount, or the
// worker asking about a refund the channel reports with another amount,
// must not add one every pass. Each notification is an event of its own
// and always counts.
func (s *Kernel) AnomalyTx(tx *gorm.DB, source, channel, orderNo, kind, detail string) error {
	return s.OpenAnomaly(tx, AnomalyNote{Source: source, Channel: channel, OrderNo: orderNo, Kind: kind, Detail: detail})
}

// OpenAnomaly records an anomaly with everything staff need to own it.
func (s *Kernel) OpenAnomaly(tx *gorm.DB, a AnomalyNote) error {
	if a.Source != "notify" && a.OrderNo != "" {
		var open int64
		if err := tx.Model(&store.AnomalyRow{}).Where("order_no = ? AND kind = ? AND resolved_at IS NULL", a.OrderNo, a.Kind).
			Count(&open).Error; err != nil {
			return err
		}
		if open > 0 {
			return nil
		}
	}
	return tx.Create(&store.AnomalyRow{ID: NewID("an"), Source: a.Source, Channel: a.Channel, OrderNo: a.OrderNo,
		RefundNo: a.RefundNo, Kind: a.Kind, Detail: a.Detail, AmountFen: a.AmountFen, SystemAction: a.SystemAction,
		CreatedAt: s.Now()}).Error
}

// Anomaly records an anomaly on its own, logging (not returning) a
// failure: for callers with nothing to roll back.
func (s *Kernel) Anomaly(ctx context.Context, source, channel, orderNo, kind, detail string) {
	if err := s.AnomalyTx(s.Conn(ctx), source, channel, orderNo, kind, detail); err != nil {
		s.Log.ErrorContext(ctx, "anomaly not recorded", "kind", kind, "order_no", orderNo, "err", err)
	}
}
