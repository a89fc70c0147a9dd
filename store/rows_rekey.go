package store

import "time"

// CryptoSuiteRow notes a suite personal data was sealed under.
type CryptoSuiteRow struct {
	Name        string `gorm:"primaryKey"`
	FirstUsedAt time.Time
}

// TableName implements gorm's Tabler.
func (CryptoSuiteRow) TableName() string { return "crypto_suites" }

// RekeyProgressRow is rekey's place in one table.
type RekeyProgressRow struct {
	Table       string `gorm:"column:table_name;primaryKey"`
	Target      string
	CursorID    string `gorm:"column:cursor_id"`
	Done        bool
	RowsRekeyed int64
	UpdatedAt   time.Time
}

// TableName implements gorm's Tabler.
func (RekeyProgressRow) TableName() string { return "rekey_progress" }
