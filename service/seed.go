package service

import (
	"context"

	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm/clause"
)

// SeedUnitInsurance records that a person is insured through an employer
// ("pension" or "medical"), as the agencies would tell us. The sandbox
// loads its demo people this way; a real deployment feeds it from the
// agencies' data exchange.
func (s *Service) SeedUnitInsurance(ctx context.Context, name, idNumber, kind, unitName string) error {
	p, err := s.CheckedPerson(ctx, "", name, idNumber, "")
	if err != nil {
		return err
	}
	row := store.UnitInsuranceRow{PersonID: p.ID, Scheme: kind, UnitName: unitName, CreatedAt: s.Now()}
	return kernel.Internal("seed unit insurance", s.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error)
}
