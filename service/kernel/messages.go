package kernel

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Message kinds of the in-app list.
const (
	MessageKindRefund = "refund"
)

// Message is one entry of the user's in-app message list.
type Message struct {
	MessageID string    `json:"message_id"`
	Kind      string    `json:"kind"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	RefundNo  string    `json:"refund_no,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// PendingPush is a channel push to send once the transaction that wrote
// its in-app message has committed.
type PendingPush struct {
	UserID string
	Msg    models.Message
	// Others get the same push (their in-app messages are written too):
	// the money's owners who did not apply for a refund.
	Others []string
}

// WriteMessage adds a message to a user's list inside tx and returns the
// push to send after commit.
func (s *Kernel) WriteMessage(tx *gorm.DB, userID, kind, title, body, refundNo string, push models.Message) (PendingPush, error) {
	now := s.Now()
	row := store.MessageRow{ID: sortableID("msg", now), UserID: userID, Kind: kind, Title: Truncate(title, 100),
		Body: Truncate(body, 1000), RefundNo: refundNo, CreatedAt: now}
	if err := tx.Create(&row).Error; err != nil {
		return PendingPush{}, err
	}
	return PendingPush{UserID: userID, Msg: push}, nil
}

// Push sends messages through the channel each user logged in with
// (WeChat subscribe messages…), best effort: the in-app list already has
// them, so a failure is only logged.
func (s *Kernel) Push(ctx context.Context, pushes []PendingPush) {
	for _, p := range pushes {
		for _, userID := range append([]string{p.UserID}, p.Others...) {
			if userID == "" {
				continue
			}
			u, err := s.User(ctx, userID)
			if err != nil {
				continue
			}
			m, ok := s.Messengers[u.Channel]
			if !ok {
				continue
			}
			if err := m.SendMessage(ctx, models.ChannelIdentity{Channel: u.Channel, Subject: u.Subject, UnionID: u.UnionID}, p.Msg); err != nil {
				s.Log.WarnContext(ctx, "message push failed; the in-app list has it", "channel", u.Channel, "kind", p.Msg.Kind, "err", err)
			}
		}
	}
}

// ListMessages lists the caller's messages, newest first.
func (s *Kernel) ListMessages(ctx context.Context, userID string, page Page) ([]Message, string, error) {
	q := s.Conn(ctx).Where("user_id = ?", userID)
	if page.After != "" {
		q = q.Where("id < ?", page.After)
	}
	var rows []store.MessageRow
	if err := q.Order("id DESC").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", Internal("list messages", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = rows[len(rows)-1].ID
	}
	out := make([]Message, 0, len(rows))
	for _, r := range rows {
		out = append(out, Message{MessageID: r.ID, Kind: r.Kind, Title: r.Title, Body: r.Body, RefundNo: r.RefundNo, CreatedAt: r.CreatedAt})
	}
	return out, next, nil
}
