package units

import (
	"context"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
)

// Units is the unit workflows. It is safe for concurrent use.
type Units struct {
	*kernel.Kernel
	people *people.People
}

// New returns the unit workflows on k.
func New(k *kernel.Kernel, p *people.People) *Units { return &Units{Kernel: k, people: p} }

// Membership is how the caller acts for a unit.
type Membership struct {
	UnitID   string
	PersonID string
	Role     string // store.UnitRoleLegalRep or store.UnitRoleOperator
}

// LegalRep reports whether the member is the unit's legal representative,
// who alone manages operators.
func (m Membership) LegalRep() bool { return m.Role == store.UnitRoleLegalRep }

// ActsFor returns the caller's active membership of unit unitID. Anyone
// who does not act for the unit gets ErrNotFound: a stranger must not even
// learn that a unit id exists.
func (s *Units) ActsFor(ctx context.Context, userID, unitID string) (Membership, error) {
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return Membership{}, err // IDENTITY_REQUIRED says nothing about the unit
	}
	var m store.UnitMemberRow
	err = s.Conn(ctx).Where("unit_id = ? AND person_id = ? AND removed_at IS NULL", unitID, self.ID).Take(&m).Error
	if kernel.IsNotFound(err) {
		return Membership{}, models.ErrNotFound
	}
	if err != nil {
		return Membership{}, kernel.Internal("load unit membership", err)
	}
	return Membership{UnitID: m.UnitID, PersonID: m.PersonID, Role: m.Role}, nil
}

// Unit loads a unit row; callers check ActsFor first.
func (s *Units) Unit(ctx context.Context, unitID string) (store.UnitRow, error) {
	var u store.UnitRow
	err := s.Conn(ctx).Where("id = ?", unitID).Take(&u).Error
	if kernel.IsNotFound(err) {
		return u, models.ErrNotFound
	}
	return u, kernel.Internal("load unit", err)
}
