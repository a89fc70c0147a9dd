// Package partners decides who is calling the counter API (/partner/v1):
// the partners (banks at their counters, 云POS and 裕农通 operators, the
// hall's POS), their signing keys, and the check of every request's
// signature, timestamp and nonce. Admin staff manage partners and keys
// here, each action in the staff audit log; every partner call, and
// refused ones up to a budget per client address, is recorded in
// partner_calls.
//
// Keys are HMAC secrets the partner's terminals hold too, so they are
// stored sealed with the PII cipher (a copy of the database signs
// nothing) and shown once, when made. A rotation adds a key and keeps the
// old one live until the terminals have switched: at most two live keys,
// a third rotation retiring the oldest.
package partners

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Partner statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Key statuses.
const (
	KeyLive    = "live"
	KeyRetired = "retired"
)

// maxLiveKeys is how many keys sign at once: the current one and, during
// a rotation, the one the terminals are leaving.
const maxLiveKeys = 2

// Channels are the counter channels a partner may be allowed.
var Channels = []string{"bank_counter", "yun_pos", "yunongtong", "hall_pos"}

// partnerIDPattern is the shape of a partner id: it travels in a header
// and names the partner in logs and audit records.
var partnerIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{2,39}$`)

// Partners is the partner workflows. It is safe for concurrent use.
type Partners struct {
	*kernel.Kernel
	hall *hall.Hall
}

// New returns the partner workflows on k; h checks staff permissions and
// audits refusals.
func New(k *kernel.Kernel, h *hall.Hall) *Partners { return &Partners{Kernel: k, hall: h} }

// Partner is the view of a partner. Secrets never appear in it.
type Partner struct {
	PartnerID  string       `json:"partner_id"`
	Name       string       `json:"name"`
	Channels   []string     `json:"channels"`
	Status     string       `json:"status"`
	Keys       []PartnerKey `json:"keys"`
	CreatedAt  time.Time    `json:"created_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
	DisabledAt *time.Time   `json:"disabled_at,omitempty"`
}

// PartnerKey is the view of one key: its id and state, never its secret.
type PartnerKey struct {
	KeyID     string     `json:"key_id"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
}

// NewKey is a key as made: its secret, shown this once.
type NewKey struct {
	PartnerID string    `json:"partner_id"`
	KeyID     string    `json:"key_id"`
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
	// Retired lists the keys this rotation retired (the oldest, when two
	// were live).
	Retired []string `json:"retired_key_ids"`
}

// CreatedPartner is a new partner with its first key.
type CreatedPartner struct {
	NewKey
	Partner Partner `json:"partner"`
}

// PartnerInput creates a partner.
type PartnerInput struct {
	PartnerID string   `json:"partner_id"`
	Name      string   `json:"name"`
	Channels  []string `json:"channels"`
}

// normalize checks and tidies a new partner.
func (in PartnerInput) normalize() (PartnerInput, error) {
	in.PartnerID = strings.TrimSpace(in.PartnerID)
	in.Name = strings.TrimSpace(in.Name)
	if !partnerIDPattern.MatchString(in.PartnerID) {
		return in, models.ErrInvalid.WithReason("partner_id 应为 3–40 位小写字母、数字或连字符，以字母开头")
	}
	if in.Name == "" || len([]rune(in.Name)) > 64 {
		return in, models.ErrInvalid.WithReason("name 应为 1–64 个字符")
	}
	if len(in.Channels) == 0 {
		return in, models.ErrInvalid.WithReason("channels 至少包含一个柜面渠道")
	}
	var chs []string
	for _, c := range in.Channels {
		if !slices.Contains(Channels, c) {
			return in, models.ErrInvalid.WithReason("channels 只能是 bank_counter、yun_pos、yunongtong 或 hall_pos")
		}
		if !slices.Contains(chs, c) {
			chs = append(chs, c)
		}
	}
	// Stored in the order of Channels, so the same set reads the same.
	in.Channels = nil
	for _, c := range Channels {
		if slices.Contains(chs, c) {
			in.Channels = append(in.Channels, c)
		}
	}
	return in, nil
}

func splitChannels(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func view(r store.PartnerRow, keys []store.PartnerKeyRow) Partner {
	p := Partner{PartnerID: r.ID, Name: r.Name, Channels: splitChannels(r.Channels), Status: r.Status, Keys: []PartnerKey{},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DisabledAt: r.DisabledAt}
	for _, k := range keys {
		p.Keys = append(p.Keys, PartnerKey{KeyID: k.ID, Status: k.Status, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt})
	}
	return p
}

// newSecret is a fresh 256-bit key, base64url without padding: what a
// bank types into its terminal configuration.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ListPartners lists partners by id with their keys (admin only).
func (s *Partners) ListPartners(ctx context.Context, a kernel.StaffActor, page kernel.Page) ([]Partner, string, error) {
	if err := s.hall.Require(ctx, a, models.PermPartnerManage, "partner.list", "partner", ""); err != nil {
		return nil, "", err
	}
	q := s.Conn(ctx).Order("id")
	if page.After != "" {
		q = q.Where("id > ?", page.After)
	}
	var rows []store.PartnerRow
	if err := q.Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list partners", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = rows[len(rows)-1].ID
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	var keys []store.PartnerKeyRow
	if len(ids) > 0 {
		if err := s.Conn(ctx).Where("partner_id IN ?", ids).Order("created_at, id").Find(&keys).Error; err != nil {
			return nil, "", kernel.Internal("list partner keys", err)
		}
	}
	byPartner := map[string][]store.PartnerKeyRow{}
	for _, k := range keys {
		byPartner[k.PartnerID] = append(byPartner[k.PartnerID], k)
	}
	out := make([]Partner, 0, len(rows))
	for _, r := range rows {
		out = append(out, view(r, byPartner[r.ID]))
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "partner.list", TargetKind: "partner", Outcome: kernel.AuditOK,
		Detail: fmt.Sprintf("%d 个合作方", len(out))}); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// CreatePartner creates a partner with its first key, whose secret is
// returned this once (admin only).
func (s *Partners) CreatePartner(ctx context.Context, a kernel.StaffActor, in PartnerInput) (CreatedPartner, error) {
	if err := s.hall.Require(ctx, a, models.PermPartnerManage, "partner.create", "partner", ""); err != nil {
		return CreatedPartner{}, err
	}
	in, err := in.normalize()
	if err != nil {
		return CreatedPartner{}, err
	}
	var out CreatedPartner
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		p, k, err := s.insertPartner(tx, in, newSecret(), "", a.StaffID)
		if err != nil {
			return err
		}
		out = CreatedPartner{NewKey: k, Partner: p}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "partner.create", TargetKind: "partner", TargetID: in.PartnerID, Outcome: kernel.AuditOK,
			Detail: in.Name + " / " + strings.Join(in.Channels, ",") + " / 密钥 " + k.KeyID})
	})
	return out, kernel.Internal("create partner", err)
}

// insertPartner inserts a partner and its first key (keyID generated when
// empty); ErrPartnerExists when the id is taken.
func (s *Partners) insertPartner(tx *gorm.DB, in PartnerInput, secret, keyID, by string) (Partner, NewKey, error) {
	now := s.Now()
	row := store.PartnerRow{ID: in.PartnerID, Name: in.Name, Channels: strings.Join(in.Channels, ","), Status: StatusActive,
		KeyVersion: 1, CreatedBy: by, CreatedAt: now, UpdatedAt: now}
	ok, err := kernel.InsertIfAbsent(tx, &row)
	if err != nil {
		return Partner{}, NewKey{}, err
	}
	if !ok {
		return Partner{}, NewKey{}, models.ErrPartnerExists
	}
	k, err := s.insertKey(tx, in.PartnerID, secret, keyID, by)
	if err != nil {
		return Partner{}, NewKey{}, err
	}
	kr := store.PartnerKeyRow{ID: k.KeyID, Status: KeyLive, CreatedAt: k.CreatedAt}
	return view(row, []store.PartnerKeyRow{kr}), k, nil
}

func (s *Partners) insertKey(tx *gorm.DB, partnerID, secret, keyID, by string) (NewKey, error) {
	sealed, err := s.Seal(secret)
	if err != nil {
		return NewKey{}, err
	}
	if keyID == "" {
		// Ids that sort by creation, so "the oldest live key" is well
		// defined even for keys made in the same instant.
		keyID = kernel.NewSortableID("pk", s.Now())
	}
	now := s.Now()
	row := store.PartnerKeyRow{ID: keyID, PartnerID: partnerID, SecretSealed: sealed, Status: KeyLive, CreatedBy: by, CreatedAt: now}
	if err := tx.Create(&row).Error; err != nil {
		return NewKey{}, err
	}
	return NewKey{PartnerID: partnerID, KeyID: keyID, Secret: secret, CreatedAt: now, Retired: []string{}}, nil
}

// errKeysBusy answers a key change that lost the race to another one.
var errKeysBusy = models.ErrRequestInProgress

// claimKeys loads a partner and bumps its key_version in tx, so no other
// key change runs on the same live keys: the second of two concurrent
// changes updates no row and is told to retry.
func (s *Partners) claimKeys(tx *gorm.DB, partnerID string) (store.PartnerRow, []store.PartnerKeyRow, error) {
	var p store.PartnerRow
	if err := tx.Where("id = ?", partnerID).Take(&p).Error; err != nil {
		if kernel.IsNotFound(err) {
			return p, nil, models.ErrNotFound
		}
		return p, nil, err
	}
	res := tx.Model(&store.PartnerRow{}).Where("id = ? AND key_version = ?", p.ID, p.KeyVersion).
		Updates(map[string]any{"key_version": p.KeyVersion + 1, "updated_at": s.Now()})
	if res.Error != nil {
		return p, nil, res.Error
	}
	if res.RowsAffected != 1 {
		return p, nil, errKeysBusy
	}
	var live []store.PartnerKeyRow
	if err := tx.Where("partner_id = ? AND status = ?", p.ID, KeyLive).Order("created_at, id").Find(&live).Error; err != nil {
		return p, nil, err
	}
	return p, live, nil
}

func (s *Partners) retireKey(tx *gorm.DB, partnerID, keyID string) (bool, error) {
	now := s.Now()
	res := tx.Model(&store.PartnerKeyRow{}).Where("id = ? AND partner_id = ? AND status = ?", keyID, partnerID, KeyLive).
		Updates(map[string]any{"status": KeyRetired, "retired_at": now})
	return res.RowsAffected == 1, res.Error
}

// RotatePartnerKey adds a key to a partner and returns its secret this once
// (admin only). The keys live before stay live so terminals can switch,
// except that at most two keys are live: with two live already, the
// oldest is retired.
func (s *Partners) RotatePartnerKey(ctx context.Context, a kernel.StaffActor, partnerID string) (NewKey, error) {
	if err := s.hall.Require(ctx, a, models.PermPartnerManage, "partner.rotate_key", "partner", partnerID); err != nil {
		return NewKey{}, err
	}
	var out NewKey
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		_, live, err := s.claimKeys(tx, partnerID)
		if err != nil {
			return err
		}
		var retired []string
		for len(live) >= maxLiveKeys {
			if _, err := s.retireKey(tx, partnerID, live[0].ID); err != nil {
				return err
			}
			retired = append(retired, live[0].ID)
			live = live[1:]
		}
		if out, err = s.insertKey(tx, partnerID, newSecret(), "", a.StaffID); err != nil {
			return err
		}
		if retired != nil {
			out.Retired = retired
		}
		detail := "新密钥 " + out.KeyID
		if len(retired) > 0 {
			detail += "，停用 " + strings.Join(retired, ",")
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "partner.rotate_key", TargetKind: "partner", TargetID: partnerID, Outcome: kernel.AuditOK, Detail: detail})
	})
	return out, kernel.Internal("rotate partner key", err)
}

// RetirePartnerKey retires one live key (admin only), once the partner's
// terminals have moved to the new one. The only live key cannot be
// retired (ErrPartnerLastKey): disable the partner to stop it.
func (s *Partners) RetirePartnerKey(ctx context.Context, a kernel.StaffActor, partnerID, keyID string) (Partner, error) {
	if err := s.hall.Require(ctx, a, models.PermPartnerManage, "partner.retire_key", "partner", partnerID); err != nil {
		return Partner{}, err
	}
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		_, live, err := s.claimKeys(tx, partnerID)
		if err != nil {
			return err
		}
		var k store.PartnerKeyRow
		if err := tx.Where("id = ? AND partner_id = ?", keyID, partnerID).Take(&k).Error; err != nil {
			if kernel.IsNotFound(err) {
				return models.ErrNotFound
			}
			return err
		}
		if k.Status != KeyLive {
			return nil // already retired: nothing changes, nothing to audit
		}
		if len(live) <= 1 {
			return models.ErrPartnerLastKey
		}
		if _, err := s.retireKey(tx, partnerID, keyID); err != nil {
			return err
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "partner.retire_key", TargetKind: "partner", TargetID: partnerID, Outcome: kernel.AuditOK,
			Detail: "停用密钥 " + keyID})
	})
	if err != nil {
		return Partner{}, kernel.Internal("retire partner key", err)
	}
	return s.partner(ctx, partnerID)
}

// SetPartnerStatus disables (active false) or enables a partner (admin
// only). A disabled partner's requests are refused from the next one on;
// its keys stay as they are, so enabling it restores its terminals.
func (s *Partners) SetPartnerStatus(ctx context.Context, a kernel.StaffActor, partnerID string, active bool) (Partner, error) {
	action, from, to := "partner.disable", StatusActive, StatusDisabled
	if active {
		action, from, to = "partner.enable", StatusDisabled, StatusActive
	}
	if err := s.hall.Require(ctx, a, models.PermPartnerManage, action, "partner", partnerID); err != nil {
		return Partner{}, err
	}
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		upd := map[string]any{"status": to, "updated_at": now, "disabled_at": nil}
		if !active {
			upd["disabled_at"] = now
		}
		res := tx.Model(&store.PartnerRow{}).Where("id = ? AND status = ?", partnerID, from).Updates(upd)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			var n int64
			if err := tx.Model(&store.PartnerRow{}).Where("id = ?", partnerID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return models.ErrNotFound
			}
			return nil // already so
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: action, TargetKind: "partner", TargetID: partnerID, Outcome: kernel.AuditOK})
	})
	if err != nil {
		return Partner{}, kernel.Internal(action, err)
	}
	return s.partner(ctx, partnerID)
}

// partner loads one partner's view.
func (s *Partners) partner(ctx context.Context, id string) (Partner, error) {
	var r store.PartnerRow
	if err := s.Conn(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		if kernel.IsNotFound(err) {
			return Partner{}, models.ErrNotFound
		}
		return Partner{}, kernel.Internal("load partner", err)
	}
	var keys []store.PartnerKeyRow
	if err := s.Conn(ctx).Where("partner_id = ?", id).Order("created_at, id").Find(&keys).Error; err != nil {
		return Partner{}, kernel.Internal("load partner keys", err)
	}
	return view(r, keys), nil
}

// SeedPartner creates a partner with a known key unless the partner
// exists (sandbox mode's demo partners). An existing partner is left as
// it is, keys included: an admin's rotation survives a restart.
func (s *Partners) SeedPartner(ctx context.Context, in PartnerInput, keyID, secret string) error {
	in, err := in.normalize()
	if err != nil {
		return err
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		_, _, err := s.insertPartner(tx, in, secret, keyID, "sandbox")
		if errors.Is(err, models.ErrPartnerExists) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.AuditTx(tx, kernel.StaffActor{Username: "system"}, kernel.AuditNote{Action: "partner.seed", TargetKind: "partner",
			TargetID: in.PartnerID, Outcome: kernel.AuditOK, Detail: in.Name + " / 密钥 " + keyID})
	})
	return kernel.Internal("seed partner", err)
}

// RetireSeededKeys retires the keys named wherever they are still live,
// each audited as the system; a start outside sandbox mode passes the
// sandbox partners' keys, whose secrets are published (API.md, README),
// so a database first served in sandbox mode does not keep them signing.
// Their partners stay as they are: an admin who wants one rotates a new
// key for it. It reports how many it retired.
func (s *Partners) RetireSeededKeys(ctx context.Context, keyIDs []string) (int, error) {
	n := 0
	for _, id := range keyIDs {
		err := s.Tx(ctx, func(tx *gorm.DB) error {
			var k store.PartnerKeyRow
			if err := tx.Where("id = ? AND status = ?", id, KeyLive).Take(&k).Error; err != nil {
				if kernel.IsNotFound(err) {
					return nil
				}
				return err
			}
			ok, err := s.retireKey(tx, k.PartnerID, k.ID)
			if err != nil || !ok {
				return err
			}
			n++
			return s.AuditTx(tx, kernel.StaffActor{Username: "system"}, kernel.AuditNote{Action: "partner.retire_key", TargetKind: "partner",
				TargetID: k.PartnerID, Outcome: kernel.AuditOK, Detail: "非沙箱模式启动，停用沙箱公开密钥 " + k.ID})
		})
		if err != nil {
			return n, kernel.Internal("retire seeded partner key", err)
		}
	}
	return n, nil
}
