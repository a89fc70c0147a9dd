package kernel

import (
	"context"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

// Verified is a verified user as a session holds it: the user row (person
// and phone bound) and the sealed row of the person it is bound to. Both
// are fixed once a user is verified — binding sets person_id only where it
// is NULL, the phone only with it, and person rows are never updated — so
// a copy taken at login can answer for the database for the session's
// life. Personal data stays sealed in the copy.
type Verified struct {
	User   store.UserRow   `json:"user"`
	Person store.PersonRow `json:"person"`
}

type verifiedKey struct{}

// WithVerified returns ctx carrying the caller's verified user, so that
// User and Person answer for it without a database round trip. A session
// of a user not yet verified carries nothing and every look-up goes to the
// database, which is where a verification made in another session shows.
func WithVerified(ctx context.Context, v *Verified) context.Context {
	if v == nil || v.User.PersonID == nil || *v.User.PersonID != v.Person.ID {
		return ctx
	}
	return context.WithValue(ctx, verifiedKey{}, v)
}

func verifiedIn(ctx context.Context) *Verified {
	v, _ := ctx.Value(verifiedKey{}).(*Verified)
	return v
}

// User loads a user row; a missing user is unauthenticated.
func (s *Kernel) User(ctx context.Context, userID string) (store.UserRow, error) {
	if v := verifiedIn(ctx); v != nil && v.User.ID == userID {
		return v.User, nil
	}
	var row store.UserRow
	err := s.Read(ctx).Where("id = ?", userID).Take(&row).Error
	if IsNotFound(err) {
		return row, models.ErrUnauthenticated
	}
	return row, Internal("load user", err)
}

// Verified loads what a session of a verified user carries, or nil when
// the user is not verified yet.
func (s *Kernel) Verified(ctx context.Context, userID string) (*Verified, error) {
	u, err := s.User(ctx, userID)
	if err != nil || u.PersonID == nil {
		return nil, err
	}
	var p store.PersonRow
	if err := s.Read(ctx).Where("id = ?", *u.PersonID).Take(&p).Error; err != nil {
		return nil, Internal("load person", err)
	}
	return &Verified{User: u, Person: p}, nil
}
