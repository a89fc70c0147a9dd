package store

import "time"

// CounterTxnRow is one partner transaction id of one operation (order,
// confirm, reverse): the order it acted on and the hash of the request,
// so a retry is answered again and another request under the id refused.
type CounterTxnRow struct {
	PartnerID     string `gorm:"primaryKey"`
	Op            string `gorm:"primaryKey"`
	PartnerTxnID  string `gorm:"primaryKey"`
	OrderNo       string
	RequestSHA256 string `gorm:"column:request_sha256"`
	CreatedAt     time.Time
}

// TableName implements gorm's Tabler.
func (CounterTxnRow) TableName() string { return "counter_txns" }

// HallConsentRow is the payer's consent to a payment hall staff opened.
type HallConsentRow struct {
	OrderNo         string `gorm:"primaryKey"`
	PersonID        string
	StaffID         string
	PayerNameSealed string
	Relation        string
	Method          string
	CreatedAt       time.Time
}

// TableName implements gorm's Tabler.
func (HallConsentRow) TableName() string { return "hall_consents" }

// CounterReconFileRow is a partner's reconciliation file of a day.
type CounterReconFileRow struct {
	PartnerID  string `gorm:"primaryKey"`
	Day        string `gorm:"primaryKey"`
	FileSHA256 string `gorm:"column:file_sha256"`
	LineCount  int
	ReceivedAt time.Time
}

// TableName implements gorm's Tabler.
func (CounterReconFileRow) TableName() string { return "counter_recon_files" }

// CounterReconItemRow is one mismatch of a partner's day.
type CounterReconItemRow struct {
	PartnerID    string `gorm:"primaryKey"`
	Day          string `gorm:"primaryKey"`
	Kind         string `gorm:"primaryKey"`
	Ref          string `gorm:"primaryKey"`
	PartnerTxnID string
	OrderNo      string
	TheirFen     int64
	OurFen       int64
	TheirStatus  string
	OurStatus    string
	CreatedAt    time.Time
}

// TableName implements gorm's Tabler.
func (CounterReconItemRow) TableName() string { return "counter_recon_items" }
