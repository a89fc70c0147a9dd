package store

import "time"

// GuardianshipRow says a person is a proven guardian of a minor: from the
// person registry's household relations, or by a proven guardian's
// consent.
type GuardianshipRow struct {
	ID                  string `gorm:"primaryKey"`
	MinorPersonID       string
	GuardianPersonID    string
	Source              string
	ConsentedByPersonID string
	CreatedAt           time.Time
	RevokedAt           *time.Time
}

// TableName implements gorm's Tabler.
func (GuardianshipRow) TableName() string { return "guardianships" }
