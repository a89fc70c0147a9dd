package contrib

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// afterPaid tells the payer their payment succeeded.
func (s *Contrib) afterPaid(ctx context.Context, o store.OrderRow) {
	paid := s.Now()
	if o.PaidAt != nil {
		paid = *o.PaidAt
	}
	s.PushTo(ctx, o.PayerUserID, models.Message{Kind: models.MessagePaymentSucceeded, Page: "pages/payment/detail?order_no=" + o.OrderNo,
		Fields: map[string]string{
			"thing1":            models.Scheme(o.Scheme).Name(),
			"amount2":           models.Fen(o.AmountFen).Yuan() + "元",
			"time3":             paid.In(models.Beijing).Format("2006-01-02 15:04"),
			"character_string4": o.OrderNo,
		}})
	if s.OnPaid != nil {
		s.OnPaid(ctx, o.OrderNo)
	}
}

// remindDays is how long before a collection window closes people with
// unpaid months are reminded.
const remindDays = 7

// reminderRunKind marks the reminders row that claims a day's pass.
const reminderRunKind = "run:period_ending"

// RemindPeriodEnding reminds, once per payable and user, whoever enrolled
// a person with unpaid months when the collection window closes within a
// week. It scans once a day (a claimed row spares the scan; the reminders
// table is what prevents a second message).
func (s *Contrib) RemindPeriodEnding(ctx context.Context) error {
	now := s.Now().In(models.Beijing)
	if now.Hour() < 9 {
		return nil
	}
	today := now.Format("2006-01-02")
	// One pass a day, claimed in the database: it is the record every
	// instance shares (Redis was the guard once, and a Redis shared by
	// several deployments, or by test databases, let one day's claim
	// silence another's reminders). The claim comes first, so a pass that
	// dies midway is not repeated: a reminder is a courtesy, sent at most
	// once (each one is also recorded below).
	claimed, err := kernel.InsertIfAbsent(s.Conn(ctx), &store.ReminderRow{PayableID: "run:" + today, Kind: reminderRunKind,
		UserID: "system", SentOn: today, CreatedAt: s.Now()})
	if err != nil || !claimed {
		return err
	}
	var ens []store.EnrolmentRow
	if err := s.Conn(ctx).Where("status = ?", EnrolmentActive).Find(&ens).Error; err != nil {
		return err
	}
	for _, e := range ens {
		p, err := s.Person(ctx, e.PersonID)
		if err != nil {
			return err
		}
		for _, y := range s.payableYears(e) {
			pb, err := s.payable(ctx, e, y, p)
			if err != nil || !pb.InWindow || len(pb.UnpaidPeriods) == 0 || pb.DueBy == "" {
				continue
			}
			if pb.blocked != nil && !errors.Is(pb.blocked, models.ErrUnavailable) {
				continue // nothing for them to pay here: fully assisted, or the agency decides
			}
			due, err := time.ParseInLocation("2006-01-02", pb.DueBy, models.Beijing)
			if err != nil || due.Sub(now) > remindDays*24*time.Hour {
				continue
			}
			row := store.ReminderRow{PayableID: pb.PayableID, Kind: string(models.MessagePeriodEnding), UserID: e.EnrolledByUserID,
				SentOn: today, CreatedAt: s.Now()}
			inserted, err := kernel.InsertIfAbsent(s.Conn(ctx), &row)
			if err != nil {
				return err
			}
			if inserted {
				s.PushTo(ctx, e.EnrolledByUserID, models.Message{Kind: models.MessagePeriodEnding, Page: "pages/payables/index",
					Fields: map[string]string{"thing1": pb.SchemeName, "name2": pb.PersonNameMasked,
						"date3": pb.DueBy, "thing4": fmt.Sprintf("尚有%d期未缴，请在缴费期结束前缴纳", len(pb.UnpaidPeriods))}})
			}
		}
	}
	return nil
}
