package store

import "time"

// Row structs mirror the tables of migrations/ one to one. They are the
// database's shape, not the domain's: workflows convert between them and
// models types, and sealed columns hold ciphertext only.

// PersonRow is a natural person known by a verified name and ID number.
type PersonRow struct {
	ID         string `gorm:"primaryKey"`
	IDIndex    string
	IDSealed   string
	NameSealed string
	BirthDate  string
	Male       bool
	IDRegion   string
	CreatedAt  time.Time
}

// TableName implements gorm's Tabler.
func (PersonRow) TableName() string { return "persons" }

// UserRow is one channel identity (a WeChat openid, an Alipay user…).
type UserRow struct {
	ID          string `gorm:"primaryKey"`
	Channel     string
	Subject     string
	UnionID     string
	PersonID    *string
	PhoneSealed string
	VerifiedAt  *time.Time
	CreatedAt   time.Time
}

// TableName implements gorm's Tabler.
func (UserRow) TableName() string { return "users" }

// FamilyRow links a user to a person they pay for.
type FamilyRow struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	PersonID  string
	Relation  string
	CreatedAt time.Time
}

// TableName implements gorm's Tabler.
func (FamilyRow) TableName() string { return "family_members" }

// PayerLinkRow lets a user pay for a person they named correctly.
type PayerLinkRow struct {
	UserID    string `gorm:"primaryKey"`
	PersonID  string `gorm:"primaryKey"`
	CreatedAt time.Time
}

// TableName implements gorm's Tabler.
func (PayerLinkRow) TableName() string { return "payer_links" }

// GrantRow lets a user (or every account of a person) see a person's records.
type GrantRow struct {
	ID              string `gorm:"primaryKey"`
	GrantorPersonID string
	GranteeUserID   string
	GranteePersonID string
	CreatedAt       time.Time
	RevokedAt       *time.Time
}

// TableName implements gorm's Tabler.
func (GrantRow) TableName() string { return "grants" }

// EnrolmentRow is a person's registration in a scheme.
type EnrolmentRow struct {
	ID               string `gorm:"primaryKey"`
	PersonID         string
	Scheme           string
	RegionCode       string
	MedicalOption    string
	Status           string
	ReceiptNo        string
	RegisteredAt     time.Time
	EnrolledByUserID string
}

// TableName implements gorm's Tabler.
func (EnrolmentRow) TableName() string { return "enrolments" }

// UnitInsuranceRow says a person is insured in a scheme through an employer.
type UnitInsuranceRow struct {
	PersonID  string `gorm:"primaryKey"`
	Scheme    string `gorm:"primaryKey"`
	UnitName  string
	CreatedAt time.Time
}

// TableName implements gorm's Tabler.
func (UnitInsuranceRow) TableName() string { return "unit_insurance" }

// DeclarationRow is a declaration (申报) of months of a payable.
type DeclarationRow struct {
	ID               string `gorm:"primaryKey"`
	PersonID         string
	EnrolmentID      string
	PayableID        string
	Scheme           string
	Year             int
	RegionCode       string
	OptionCode       string
	BaseFen          int64
	MonthlyFen       int64
	ExtraFen         int64
	PeriodFrom       string
	PeriodTo         string
	AmountFen        int64
	Status           string
	OrderNo          string
	DeclaredByUserID string
	ExpiresAt        time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName implements gorm's Tabler.
func (DeclarationRow) TableName() string { return "declarations" }

// ClaimRow holds one month of one scheme for one declaration.
type ClaimRow struct {
	PersonID      string `gorm:"primaryKey"`
	Scheme        string `gorm:"primaryKey"`
	Period        string `gorm:"primaryKey"`
	DeclarationID string
	State         string
}

// TableName implements gorm's Tabler.
func (ClaimRow) TableName() string { return "period_claims" }

// OrderRow is a payment order; OrderNo is the channel's out_trade_no.
type OrderRow struct {
	OrderNo       string `gorm:"primaryKey"`
	DeclarationID string
	PersonID      string
	PayerUserID   string
	Channel       string
	Scheme        string
	AmountFen     int64
	RefundedFen   int64
	Status        string
	TransactionID string
	PayParams     string
	ExpiresAt     time.Time
	CreatedAt     time.Time
	PaidAt        *time.Time
	ClosedAt      *time.Time
	NextQueryAt   *time.Time
	QueryAttempts int
	UpdatedAt     time.Time
	// SettleNextAt is when the worker next asks the treasury or the
	// agency about the paid order's records (migrations/0016); nil is now.
	SettleNextAt *time.Time
	// PayerMasked is the paying user's masked name for the order's
	// records, and PersonMasked the masked name of the person paid for,
	// for the order's view; both set when the payer opens it
	// (migrations/0018), nil when they are worked out as needed.
	PayerMasked  *string
	PersonMasked *string
	// A unit's payment (migrations/0009) sets UnitID, UnitDeclarationID
	// and Method (tripartite, bank_voucher or pos); all three are '' on an
	// individual's order, whose DeclarationID and PersonID are '' on a
	// unit's.
	UnitID            string
	UnitDeclarationID string
	Method            string
	// A counter's payment (migrations/0012) names the partner that took
	// it (its name as it was then, for the payer's records), the counter
	// channel (bank_counter, yun_pos, yunongtong, hall_pos), the terminal
	// and the partner's transaction ids; all '' on an order of the app.
	PartnerID         string
	PartnerName       string
	CounterChannel    string
	TerminalID        string
	PartnerOrderTxn   string
	PartnerConfirmTxn string
	ReversedAt        *time.Time
}

// TableName implements gorm's Tabler.
func (OrderRow) TableName() string { return "orders" }

// RecordRow is one paid month (or year) of one scheme for one person.
type RecordRow struct {
	ID           string `gorm:"primaryKey"`
	PersonID     string
	Scheme       string
	Period       string
	PeriodTo     string
	RegionCode   string
	BaseFen      int64
	AmountFen    int64
	Status       string
	OrderNo      string
	PayerUserID  string
	PaidAt       time.Time
	CreditedAt   *time.Time
	BookedAt     *time.Time
	TaxVoucherNo string
	BookingNo    string
	// PayerUnitID is the unit that paid an employee's month ('' when a
	// user paid) and UnitLineID the declaration line it came from.
	PayerUnitID string
	UnitLineID  string
	// AdjustmentNo is 0 for a month's contribution, one per person, scheme
	// and month; n > 0 is a difference paid later for the same month (a
	// unit's correction declaration n, or a 调差).
	AdjustmentNo int
	// PayerMasked is what the records list shows as the payer: the masked
	// name (never the plain one) as it was when the month was booked, ""
	// for no named payer, nil for a row written before migration 0013 that
	// the worker has not filled yet.
	PayerMasked *string
	// CounterChannel, CounterPartnerName and CounterTerminalID are the
	// counter that took the order's money (its columns of the same names,
	// copied when booked); CounterChannel is "" when no counter did.
	CounterChannel     string
	CounterPartnerName string
	CounterTerminalID  string
}

// TableName implements gorm's Tabler.
func (RecordRow) TableName() string { return "records" }

// NotificationRow is a processed channel notification.
type NotificationRow struct {
	Channel    string `gorm:"primaryKey"`
	NotifyID   string `gorm:"primaryKey"`
	Kind       string
	OrderNo    string
	Outcome    string
	ReceivedAt time.Time
}

// TableName implements gorm's Tabler.
func (NotificationRow) TableName() string { return "notifications" }

// AnomalyRow is something that did not match, with its resolution.
type AnomalyRow struct {
	ID           string `gorm:"primaryKey"`
	Source       string
	Channel      string
	OrderNo      string
	RefundNo     string
	Kind         string
	Detail       string
	AmountFen    int64
	SystemAction string // what the system already did about it, in words staff read
	Resolution   string
	ResolvedBy   string // staff id, or "system" when the system closed it itself
	CreatedAt    time.Time
	ResolvedAt   *time.Time
	// ResolveReason is why staff closed it, in their words.
	ResolveReason string
}

// TableName implements gorm's Tabler.
func (AnomalyRow) TableName() string { return "anomalies" }

// IdempotencyRow remembers the first response to an Idempotency-Key.
type IdempotencyRow struct {
	UserID      string `gorm:"primaryKey"`
	Operation   string `gorm:"primaryKey"`
	IdemKey     string `gorm:"primaryKey;column:idem_key"`
	RequestHash string
	StatusCode  int
	Body        string
	CreatedAt   time.Time
}

// TableName implements gorm's Tabler.
func (IdempotencyRow) TableName() string { return "idempotency_keys" }

// ReconciliationRow is one T+1 reconciliation of a channel's daily bill.
type ReconciliationRow struct {
	Channel    string `gorm:"primaryKey"`
	BillDate   string `gorm:"primaryKey"`
	Status     string
	BillLines  int
	Matched    int
	Mismatches int
	Detail     string
	StartedAt  time.Time
	FinishedAt *time.Time
	// RunID is the run holding the lease; LeaseUntil is when a running
	// run may be taken over, or when a failed one is tried again.
	RunID      string
	LeaseUntil *time.Time
}

// TableName implements gorm's Tabler.
func (ReconciliationRow) TableName() string { return "reconciliations" }

// ReminderRow is a reminder already sent, so none is sent twice.
type ReminderRow struct {
	PayableID string `gorm:"primaryKey"`
	Kind      string `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey"`
	SentOn    string
	CreatedAt time.Time
}

// TableName implements gorm's Tabler.
func (ReminderRow) TableName() string { return "reminders" }

// RateLimitRow counts one rate-limit bucket's hits in one fixed window,
// kept only while Redis cannot count (see service.CountInDB).
type RateLimitRow struct {
	Bucket      string    `gorm:"primaryKey"`
	WindowStart time.Time `gorm:"primaryKey"`
	Hits        int
}

// TableName implements gorm's Tabler.
func (RateLimitRow) TableName() string { return "rate_limits" }

// WorkLeaseRow is one instance's claim on a piece of background work
// (migrations/0014): Step names the worker step, ObjectKey the object
// (an order or payout number), Holder the instance, LeaseUntil when
// another instance may take it over.
type WorkLeaseRow struct {
	Step       string `gorm:"primaryKey"`
	ObjectKey  string `gorm:"primaryKey"`
	Holder     string
	LeaseUntil time.Time
}

// TableName implements gorm's Tabler.
func (WorkLeaseRow) TableName() string { return "work_leases" }
