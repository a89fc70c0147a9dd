package store

import "time"

// CertificateRow is an issued certificate (migrations/0003). Rows are
// written once: the database refuses any change but setting RevokedAt and
// RevokeReason on a row not yet revoked, and refuses deletes.
type CertificateRow struct {
	CertificateNo  string `gorm:"primaryKey"`
	Kind           string
	PersonID       string
	IssuedByUserID string
	Scheme         string
	PeriodFrom     string
	PeriodTo       string
	OrderNo        string
	ReissueOf      string
	TotalFen       int64
	LineCount      int
	Canonical      []byte // the signed bytes, models.Certificate.Canonical
	Signature      []byte
	KeyID          string `gorm:"column:key_id"`
	Algorithm      string
	PDF            []byte `gorm:"column:pdf"`
	IssuedAt       time.Time
	RevokedAt      *time.Time
	RevokeReason   string
	// UnitID is the unit a unit's certificate (完税证明) is for, whose
	// PersonID is ''; '' on a person's certificate.
	UnitID string
}

// TableName implements gorm's Tabler.
func (CertificateRow) TableName() string { return "certificates" }

// CertificateColumnsWithoutPDF lists every column but pdf, for queries
// that do not send the document (lists, verification).
func CertificateColumnsWithoutPDF() []string {
	return []string{"certificate_no", "kind", "person_id", "issued_by_user_id", "scheme", "period_from", "period_to",
		"order_no", "reissue_of", "total_fen", "line_count", "canonical", "signature", "key_id", "algorithm",
		"issued_at", "revoked_at", "revoke_reason", "unit_id"}
}
