package store

import "time"

// PartnerRow is a partner of the counter API (a bank, a 云POS or 裕农通
// operator, the hall's POS).
type PartnerRow struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	Channels   string // comma separated
	Status     string
	KeyVersion int
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	DisabledAt *time.Time
}

// TableName implements gorm's Tabler.
func (PartnerRow) TableName() string { return "partners" }

// PartnerKeyRow is one signing key of a partner; the secret is sealed.
type PartnerKeyRow struct {
	ID           string `gorm:"primaryKey"`
	PartnerID    string
	SecretSealed string
	Status       string
	CreatedBy    string
	CreatedAt    time.Time
	RetiredAt    *time.Time
}

// TableName implements gorm's Tabler.
func (PartnerKeyRow) TableName() string { return "partner_keys" }

// PartnerNonceRow records a nonce a partner's verified request used.
type PartnerNonceRow struct {
	PartnerID string `gorm:"primaryKey"`
	NonceHash string `gorm:"primaryKey"`
	ExpiresAt time.Time
}

// TableName implements gorm's Tabler.
func (PartnerNonceRow) TableName() string { return "partner_nonces" }

// PartnerCallRow is the audit record of one /partner/v1 request.
type PartnerCallRow struct {
	ID            string `gorm:"primaryKey"`
	At            time.Time
	PartnerID     string
	Authenticated bool
	KeyID         string
	Method        string
	Route         string
	Path          string
	Status        int
	Outcome       string
	Reason        string
	ClientIP      string `gorm:"column:client_ip"`
	PeerIP        string `gorm:"column:peer_ip"`
	RequestID     string
}

// TableName implements gorm's Tabler.
func (PartnerCallRow) TableName() string { return "partner_calls" }
