package hall

import (
	"context"
	"encoding/csv"
	"io"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// AuditEntry is the view of one audit log entry.
type AuditEntry struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	StaffID    string    `json:"staff_id"`
	Username   string    `json:"username"`
	Role       string    `json:"role"`
	Action     string    `json:"action"`
	TargetKind string    `json:"target_kind"`
	TargetID   string    `json:"target_id"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail"`
	ClientIP   string    `json:"client_ip"`
	PeerIP     string    `json:"peer_ip"`
	RequestID  string    `json:"request_id"`
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	Username string
	StaffID  string
	Action   string
	TargetID string
	Outcome  string
	From, To time.Time // To is exclusive
}

func (f AuditFilter) apply(q *gorm.DB) *gorm.DB {
	if f.Username != "" {
		q = q.Where("username = ?", f.Username)
	}
	if f.StaffID != "" {
		q = q.Where("staff_id = ?", f.StaffID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To.UTC())
	}
	return q
}

// String describes the filter for the audit entry of an export.
func (f AuditFilter) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("username", f.Username)
	add("staff_id", f.StaffID)
	add("action", f.Action)
	add("target_id", f.TargetID)
	add("outcome", f.Outcome)
	if !f.From.IsZero() {
		add("from", f.From.UTC().Format(time.RFC3339))
	}
	if !f.To.IsZero() {
		add("to", f.To.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, " ")
}

func auditView(r store.AuditRow) AuditEntry {
	return AuditEntry{ID: r.ID, At: r.At, StaffID: r.StaffID, Username: r.Username, Role: r.Role, Action: r.Action,
		TargetKind: r.TargetKind, TargetID: r.TargetID, Outcome: r.Outcome, Detail: r.Detail, ClientIP: r.ClientIP,
		PeerIP: r.PeerIP, RequestID: r.RequestID}
}

// ListAudit lists the audit log newest first (auditor only). Reading it is
// itself recorded.
func (s *Hall) ListAudit(ctx context.Context, a kernel.StaffActor, f AuditFilter, page kernel.Page) ([]AuditEntry, string, error) {
	if err := s.Require(ctx, a, models.PermAuditRead, "audit.list", "audit", ""); err != nil {
		return nil, "", err
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "audit.list", TargetKind: "audit", Outcome: kernel.AuditOK, Detail: f.String()}); err != nil {
		return nil, "", err
	}
	q := f.apply(s.Conn(ctx))
	if page.After != "" {
		q = q.Where("id < ?", page.After)
	}
	var rows []store.AuditRow
	if err := q.Order("id DESC").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list audit", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = rows[len(rows)-1].ID
	}
	out := make([]AuditEntry, 0, len(rows))
	for _, r := range rows {
		out = append(out, auditView(r))
	}
	return out, next, nil
}

// AuditExportLimit bounds one export; narrow the filter for more.
const AuditExportLimit = 100000

// ExportAudit writes the filtered audit log as CSV, oldest first, in
// pages (auditor only). The export is recorded before it starts. Cells
// that a spreadsheet would run as a formula are prefixed with ' (CSV
// injection), and a UTF-8 BOM lets Excel read the Chinese.
func (s *Hall) ExportAudit(ctx context.Context, a kernel.StaffActor, f AuditFilter, w io.Writer) error {
	if err := s.Require(ctx, a, models.PermAuditRead, "audit.export", "audit", ""); err != nil {
		return err
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "audit.export", TargetKind: "audit", Outcome: kernel.AuditOK, Detail: f.String()}); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "at", "staff_id", "username", "role", "action", "target_kind", "target_id", "outcome", "detail", "client_ip", "peer_ip", "request_id"}); err != nil {
		return err
	}
	after := ""
	written := 0
	for written < AuditExportLimit {
		q := f.apply(s.Conn(ctx))
		if after != "" {
			q = q.Where("id > ?", after)
		}
		var rows []store.AuditRow
		if err := q.Order("id").Limit(500).Find(&rows).Error; err != nil {
			return kernel.Internal("export audit", err)
		}
		for _, r := range rows {
			rec := []string{r.ID, r.At.UTC().Format(time.RFC3339Nano), r.StaffID, r.Username, r.Role, r.Action, r.TargetKind,
				r.TargetID, r.Outcome, r.Detail, r.ClientIP, r.PeerIP, r.RequestID}
			for i := range rec {
				rec[i] = csvSafe(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
			written++
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(rows) < 500 {
			break
		}
		after = rows[len(rows)-1].ID
	}
	return nil
}

// csvSafe defuses a cell a spreadsheet would evaluate (OWASP CSV injection).
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
