package kernel

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Audit outcomes.
const (
	AuditOK     = "ok"
	AuditFailed = "failed" // e.g. a wrong password
	AuditDenied = "denied" // outside the caller's role
)

// AuditNote is what happened; the actor says who and from where.
type AuditNote struct {
	Action     string // e.g. refund.accept, refund.read, staff.login
	TargetKind string // refund, staff, audit
	TargetID   string
	Outcome    string
	Detail     string // never personal data in clear
}

// idSeq orders ids made in the same nanosecond by one process (a manual
// clock in tests makes many).
var idSeq atomic.Uint64

// sortableID returns prefix_<nanoseconds><sequence><random>: ids that sort
// by time, for keyset pages of the audit log and the message list.
func sortableID(prefix string, at time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s_%019d%06d%x", prefix, at.UTC().UnixNano(), idSeq.Add(1)%1000000, b)
}

// NewSortableID returns an id that sorts by time (at), for append-only
// logs read newest first (partner calls).
func NewSortableID(prefix string, at time.Time) string { return sortableID(prefix, at) }

// AuditTx appends an entry inside tx, so the action and its record commit
// together or not at all.
func (s *Kernel) AuditTx(tx *gorm.DB, a StaffActor, e AuditNote) error {
	now := s.Now()
	row := store.AuditRow{ID: sortableID("au", now), At: now, StaffID: a.StaffID, Username: Truncate(a.Username, 64),
		Role: string(a.Role), Action: e.Action, TargetKind: e.TargetKind, TargetID: Truncate(e.TargetID, 64),
		Outcome: e.Outcome, Detail: Truncate(e.Detail, 500), ClientIP: Truncate(a.ClientIP, 64), PeerIP: Truncate(a.PeerIP, 64),
		RequestID: Truncate(a.RequestID, 64)}
	return tx.Create(&row).Error
}

// AuditNow appends an entry on its own. A read of personal data is
// audited before the data is returned: no audit, no data.
func (s *Kernel) AuditNow(ctx context.Context, a StaffActor, e AuditNote) error {
	return Internal("audit", s.AuditTx(s.Conn(ctx), a, e))
}
