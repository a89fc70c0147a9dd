package store

import "time"

// Rows of migrations/0009_units.sql. A unit's payments, the months they pay,
// its certificates and refunds are rows of orders, records, certificates
// and refunds (see the Unit… fields there), not tables of their own.

// Unit roles in unit_members.
const (
	UnitRoleLegalRep = "legal_rep"
	UnitRoleOperator = "operator"
)

// UnitRow is an employer identified by its 统一社会信用代码.
type UnitRow struct {
	ID         string `gorm:"primaryKey"`
	USCC       string `gorm:"column:uscc"`
	Name       string
	UnitType   string // enterprise or institution
	RegionCode string
	CreatedAt  time.Time
}

// TableName implements gorm's Tabler.
func (UnitRow) TableName() string { return "units" }

// UnitMemberRow lets a person act for a unit: its legal representative or
// an operator (办税员) the representative authorised. ActiveKey and RepKey
// are set while the membership is active (see UnitMemberActiveKey) and
// cleared to nil when it is removed.
type UnitMemberRow struct {
	ID        string `gorm:"primaryKey"`
	UnitID    string
	UserID    string
	PersonID  string
	Role      string
	ActiveKey *string
	RepKey    *string
	AddedBy   string
	CreatedAt time.Time
	RemovedBy string
	RemovedAt *time.Time
}

// TableName implements gorm's Tabler.
func (UnitMemberRow) TableName() string { return "unit_members" }

// UnitMemberActiveKey is unit_members.active_key of an active membership:
// one per unit and person.
func UnitMemberActiveKey(unitID, personID string) *string {
	k := unitID + "|" + personID
	return &k
}

// UnitMemberRepKey is unit_members.rep_key of the active legal
// representative (one per unit), nil for any other member.
func UnitMemberRepKey(unitID, role string) *string {
	if role != UnitRoleLegalRep {
		return nil
	}
	k := unitID
	return &k
}

// UnitRegistrationRow is a unit's 参保登记 in one scheme.
type UnitRegistrationRow struct {
	ID           string `gorm:"primaryKey"`
	UnitID       string
	Scheme       string
	RegionCode   string
	ReceiptNo    string
	RegisteredBy string
	RegisteredAt time.Time
}

// TableName implements gorm's Tabler.
func (UnitRegistrationRow) TableName() string { return "unit_registrations" }

// UnitEmployeeRow is one spell of a person insured in a scheme through a
// unit, FromPeriod to ToPeriod inclusive (ToPeriod empty while open).
// OpenKey is UnitEmployeeOpenKey while the spell is open and nil once it
// has an end.
type UnitEmployeeRow struct {
	ID         string `gorm:"primaryKey"`
	UnitID     string
	Scheme     string
	PersonID   string
	WageFen    int64
	FromPeriod string
	ToPeriod   string
	OpenKey    *string
	CreatedBy  string
	CreatedAt  time.Time
	RemovedBy  string
	RemovedAt  *time.Time
}

// TableName implements gorm's Tabler.
func (UnitEmployeeRow) TableName() string { return "unit_employees" }

// UnitEmployeeOpenKey is unit_employees.open_key of an open spell: no
// person has two open spells in one scheme, in any units.
func UnitEmployeeOpenKey(personID, scheme string) *string {
	k := personID + "|" + scheme
	return &k
}

// UnitDeclarationRow is a unit's confirmed declaration of one month. Seq 0
// is the month's declaration; a correction has the next Seq and CorrectsID.
type UnitDeclarationRow struct {
	ID            string `gorm:"primaryKey"`
	UnitID        string
	Period        string
	Seq           int
	CorrectsID    string
	AmountFen     int64
	UnitFen       int64
	IndividualFen int64
	Headcount     int
	Status        string
	OrderNo       string
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName implements gorm's Tabler.
func (UnitDeclarationRow) TableName() string { return "unit_declarations" }

// UnitDeclarationLineRow is one employee in one scheme of a declaration,
// as the agency assessed it.
type UnitDeclarationLineRow struct {
	ID            string `gorm:"primaryKey"`
	DeclarationID string
	EmployeeID    string
	PersonID      string
	Scheme        string
	RegionCode    string
	BaseFen       int64
	UnitFen       int64
	IndividualFen int64
	AmountFen     int64
}

// TableName implements gorm's Tabler.
func (UnitDeclarationLineRow) TableName() string { return "unit_declaration_lines" }

// TripartiteAgreementRow is a 三方协议 allowing debits from a unit's bank
// account; the account's name and number are sealed.
type TripartiteAgreementRow struct {
	ID                string `gorm:"primaryKey"`
	UnitID            string
	AgreementNo       string
	BankCode          string
	AccountNameSealed string
	AccountNoSealed   string
	AccountNoIndex    string
	Status            string
	RefuseReason      string
	CreatedBy         string
	CreatedAt         time.Time
	VerifiedAt        *time.Time
	RevokedAt         *time.Time
}

// TableName implements gorm's Tabler.
func (TripartiteAgreementRow) TableName() string { return "tripartite_agreements" }

// TripartiteDebitRow is the one debit of an order paid through an
// agreement; DebitNo is fixed at planning and reused on every retry.
type TripartiteDebitRow struct {
	DebitNo     string `gorm:"primaryKey"`
	OrderNo     string
	AgreementID string
	UnitID      string
	AmountFen   int64
	Status      string
	BankRef     string
	Attempts    int
	LastError   string
	NextQueryAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  *time.Time
}

// TableName implements gorm's Tabler.
func (TripartiteDebitRow) TableName() string { return "tripartite_debits" }

// BankVoucherRow is a 银行端缴税凭证: the number a bank counter pays an
// order by, until ExpiresAt.
type BankVoucherRow struct {
	VoucherNo         string `gorm:"primaryKey"`
	OrderNo           string
	UnitID            string
	UnitDeclarationID string
	AmountFen         int64
	CreatedAt         time.Time
	ExpiresAt         time.Time
}

// TableName implements gorm's Tabler.
func (BankVoucherRow) TableName() string { return "bank_vouchers" }

// UploadRow is an uploaded file; its bytes are in the blob store under
// BlobKey (UploadBlobRow when the database is the store).
type UploadRow struct {
	ID          string `gorm:"primaryKey"`
	OwnerUserID string
	UnitID      string
	Size        int64
	ContentType string
	SHA256      string `gorm:"column:sha256"`
	BlobKey     string
	CreatedAt   time.Time
}

// TableName implements gorm's Tabler.
func (UploadRow) TableName() string { return "uploads" }

// UploadBlobRow holds an upload's bytes when the database is the blob store.
type UploadBlobRow struct {
	BlobKey   string `gorm:"primaryKey"`
	Content   []byte
	CreatedAt time.Time
}

// TableName implements gorm's Tabler.
func (UploadBlobRow) TableName() string { return "upload_blobs" }

// RefundAttachmentRow links a refund application to an upload it carries.
type RefundAttachmentRow struct {
	RefundNo  string `gorm:"primaryKey"`
	UploadID  string `gorm:"primaryKey"`
	Kind      string // application_form, account_permit, payment_voucher or ''
	CreatedAt time.Time
}

// TableName implements gorm's Tabler.
func (RefundAttachmentRow) TableName() string { return "refund_attachments" }
