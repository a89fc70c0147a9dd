package servicetest

import (
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

// The channels' fakes date their trades and bills by the wall clock in
// Beijing (WeChat Pay's bill for a day can be had at once; Alipay's appears
// at 10:00 the next day, so the Alipay fake's clock is moved forward before
// its bill is asked for). The orders of one test must all fall on one
// Beijing day: a run that would straddle midnight waits until it passed.
func AvoidBeijingMidnight(t *testing.T) time.Time {
	t.Helper()
	now := time.Now().In(models.Beijing)
	next := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, models.Beijing)
	if wait := next.Sub(now); wait < 2*time.Minute {
		t.Logf("waiting %s for Beijing midnight to pass", wait.Round(time.Second))
		time.Sleep(wait + 2*time.Second)
		now = time.Now().In(models.Beijing)
	}
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, models.Beijing)
}

// anomaly is one anomalies row, for assertions.
func (r *Rig) AnomalyRows(orderNo string) []store.AnomalyRow {
	r.T.Helper()
	var rows []store.AnomalyRow
	if err := r.DB.Gorm.Where("order_no = ?", orderNo).Order("created_at, id").Find(&rows).Error; err != nil {
		r.T.Fatal(err)
	}
	return rows
}
