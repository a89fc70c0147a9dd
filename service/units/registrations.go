package units

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// RegistrationInput is a unit's 参保登记 in one scheme.
type RegistrationInput struct {
	Scheme     models.Scheme `json:"scheme"`
	RegionCode string        `json:"region_code"`
}

// Registration is a unit's 参保登记 with its receipt.
type Registration struct {
	RegistrationID string    `json:"registration_id"`
	ReceiptNo      string    `json:"receipt_no"`
	Scheme         string    `json:"scheme"`
	RegionCode     string    `json:"region_code"`
	RegisteredAt   time.Time `json:"registered_at"`
}

func registrationOf(r store.UnitRegistrationRow) Registration {
	return Registration{RegistrationID: r.ID, ReceiptNo: r.ReceiptNo, Scheme: r.Scheme, RegionCode: r.RegionCode, RegisteredAt: r.RegisteredAt}
}

// currentPeriod is the month of t in Beijing.
func currentPeriod(t time.Time) models.Period {
	b := t.In(models.Beijing)
	return models.Period{Year: b.Year(), Month: b.Month()}
}

// RegisterUnitScheme registers the unit in a scheme at once (即时办理) with a
// receipt: a scheme its type may take, in a region the policy book has
// figures for (a 盟市; the autonomous region's own code 150000 is not one
// contributions are assessed in), once per unit and scheme.
func (s *Units) RegisterUnitScheme(ctx context.Context, userID, unitID string, in RegistrationInput) (Registration, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return Registration{}, err
	}
	u, err := s.Unit(ctx, unitID)
	if err != nil {
		return Registration{}, err
	}
	if err := models.UnitType(u.UnitType).MayRegister(in.Scheme); err != nil {
		return Registration{}, err
	}
	now := s.Now()
	if _, err := s.Policy.UnitTerms(in.RegionCode, currentPeriod(now)); err != nil {
		if e, ok := models.AsError(err); ok && e.Code == models.ErrRegionInvalid.Code {
			return Registration{}, models.ErrRegionInvalid.WithReason("请选择单位参保所在的盟市（如呼和浩特市 150100）")
		}
		return Registration{}, err
	}
	r := store.UnitRegistrationRow{ID: kernel.NewID("ur"), UnitID: unitID, Scheme: string(in.Scheme), RegionCode: in.RegionCode,
		RegisteredBy: userID, RegisteredAt: now}
	ok, err := kernel.InsertNumbered(s.Conn(ctx), &r, &store.UnitRegistrationRow{}, "receipt_no", func() string {
		r.ReceiptNo = kernel.NewNumber("DW", now, 6)
		return r.ReceiptNo
	})
	if err != nil {
		return Registration{}, kernel.Internal("insert registration", err)
	}
	if !ok {
		return Registration{}, models.ErrUnitSchemeRegistered
	}
	return registrationOf(r), nil
}

// ListUnitRegistrations lists the unit's 参保登记 by scheme.
func (s *Units) ListUnitRegistrations(ctx context.Context, userID, unitID string) ([]Registration, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return nil, err
	}
	rows, err := s.registrations(ctx, unitID)
	if err != nil {
		return nil, err
	}
	out := make([]Registration, 0, len(rows))
	for _, r := range rows {
		out = append(out, registrationOf(r))
	}
	return out, nil
}

func (s *Units) registrations(ctx context.Context, unitID string) ([]store.UnitRegistrationRow, error) {
	var rows []store.UnitRegistrationRow
	if err := s.Conn(ctx).Where("unit_id = ?", unitID).Order("scheme").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("list registrations", err)
	}
	return rows, nil
}
