package store

import "time"

// Rows of migrations/0004_refunds_staff.sql.

// StaffAccountRow is a hall staff account.
type StaffAccountRow struct {
	ID           string `gorm:"primaryKey"`
	Username     string
	Role         string
	Status       string
	PasswordHash string
	TOTPSealed   string `gorm:"column:totp_sealed"`
	TOTPLastStep int64  `gorm:"column:totp_last_step"`
	CredVersion  int
	FailedCount  int
	FailedSince  *time.Time
	LockedUntil  *time.Time
	LastLoginAt  *time.Time
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DisabledAt   *time.Time
}

// TableName implements gorm's Tabler.
func (StaffAccountRow) TableName() string { return "staff_accounts" }

// RefundRow is a refund application.
type RefundRow struct {
	RefundNo          string `gorm:"primaryKey"`
	ApplicantUserID   string
	PersonID          string
	Scheme            string
	Department        string
	Reason            string
	ReasonDetail      string
	RefundFen         int64
	RefundedFen       int64
	Route             string
	BankName          string
	AccountNameSealed string
	AccountNoSealed   string
	Attachments       string
	Status            string
	Holder            string
	OpenKey           *string
	PayoutSeq         int
	EventSeq          int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	ClosedAt          *time.Time
	// ApplicantRole is who filed it in relation to the money: person,
	// guardian or payer ("" for applications older than the rule).
	ApplicantRole string
	// UnitID is the unit applying ('' for a person's application); a
	// unit's PersonID is ''.
	UnitID string
}

// TableName implements gorm's Tabler.
func (RefundRow) TableName() string { return "refunds" }

// RefundItemRow is one record an application asks back.
type RefundItemRow struct {
	RefundNo  string `gorm:"primaryKey"`
	RecordID  string `gorm:"primaryKey"`
	OrderNo   string
	Period    string
	AmountFen int64
}

// TableName implements gorm's Tabler.
func (RefundItemRow) TableName() string { return "refund_items" }

// RefundEventRow is one step of an application's timeline.
type RefundEventRow struct {
	RefundNo   string `gorm:"primaryKey"`
	Seq        int    `gorm:"primaryKey;autoIncrement:false"`
	Status     string
	ActorKind  string
	ActorID    string
	ActorName  string
	ActorRole  string
	Department string
	Holder     string
	Reasons    string
	Note       string
	At         time.Time
}

// TableName implements gorm's Tabler.
func (RefundEventRow) TableName() string { return "refund_events" }

// RefundPayoutRow is one payment back: a channel refund or a bank transfer.
type RefundPayoutRow struct {
	PayoutNo          string `gorm:"primaryKey"`
	RefundNo          string
	Kind              string
	Channel           string
	OrderNo           string
	OrderTotalFen     int64
	AmountFen         int64
	Allocation        string
	BankName          string
	AccountNameSealed string
	AccountNoSealed   string
	Status            string
	Attempts          int
	LastError         string
	NextQueryAt       *time.Time
	CreatedBy         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	SucceededAt       *time.Time
	FailedAt          *time.Time
}

// TableName implements gorm's Tabler.
func (RefundPayoutRow) TableName() string { return "refund_payouts" }

// MessageRow is an in-app message to a user.
type MessageRow struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	Kind      string
	Title     string
	Body      string
	RefundNo  string
	CreatedAt time.Time
	ReadAt    *time.Time
}

// TableName implements gorm's Tabler.
func (MessageRow) TableName() string { return "messages" }

// AuditRow is one entry of the append-only audit log.
type AuditRow struct {
	ID         string `gorm:"primaryKey"`
	At         time.Time
	StaffID    string
	Username   string
	Role       string
	Action     string
	TargetKind string
	TargetID   string
	Outcome    string
	Detail     string
	ClientIP   string `gorm:"column:client_ip"`
	PeerIP     string `gorm:"column:peer_ip"`
	RequestID  string
}

// TableName implements gorm's Tabler.
func (AuditRow) TableName() string { return "audit_log" }
