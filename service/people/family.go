package people

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// Relations a user can state for a family member.
const (
	RelationParent = "parent"
	RelationSpouse = "spouse"
	RelationChild  = "child"
	RelationOther  = "other"
)

// FamilyInput adds a family member.
type FamilyInput struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Relation string `json:"relation"`
}

// FamilyMember is the masked view of a family member.
type FamilyMember struct {
	MemberID       string `json:"member_id"`
	NameMasked     string `json:"name_masked"`
	IDNumberMasked string `json:"id_number_masked"`
	Relation       string `json:"relation"`
	RecordsAccess  Access `json:"records_access"`
	// Guardianship says whether the caller is a proven guardian of the
	// member (registry, consent) or only claimed to be (unproven); empty
	// for other links.
	Guardianship string `json:"guardianship,omitempty"`
	// RecordsAccessNote says in words what the link allows and why.
	RecordsAccessNote string    `json:"records_access_note"`
	AddedAt           time.Time `json:"added_at"`
}

// AddFamilyMember adds a person the caller pays for. The name and ID
// number must match the person registry. Knowing them proves nothing more:
// the link is pay-only unless the registry's household relations show the
// caller as the (minor) member's guardian, or a proven guardian consented.
func (s *People) AddFamilyMember(ctx context.Context, userID string, in FamilyInput) (FamilyMember, error) {
	switch in.Relation {
	case RelationParent, RelationSpouse, RelationChild, RelationOther:
	default:
		return FamilyMember{}, models.ErrInvalid.WithReason("relation 应为 parent/spouse/child/other")
	}
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return FamilyMember{}, err
	}
	p, err := s.CheckedPerson(ctx, userID, in.Name, in.IDNumber, "")
	if err != nil {
		return FamilyMember{}, err
	}
	if p.ID == self.ID {
		return FamilyMember{}, models.ErrInvalid.WithReason("不能将本人添加为家庭成员")
	}
	row := store.FamilyRow{ID: kernel.NewID("m"), UserID: userID, PersonID: p.ID, Relation: in.Relation, CreatedAt: s.Now()}
	if err := s.Conn(ctx).Create(&row).Error; err != nil {
		if kernel.IsDuplicate(err) {
			return FamilyMember{}, models.ErrFamilyExists
		}
		return FamilyMember{}, kernel.Internal("add member", err)
	}
	return s.memberView(ctx, userID, row, p)
}

func (s *People) memberView(ctx context.Context, userID string, row store.FamilyRow, p kernel.Person) (FamilyMember, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return FamilyMember{}, err
	}
	guardianship := ""
	if u.PersonID != nil && p.Parsed.MinorAt(s.Now()) {
		if row.Relation == RelationChild {
			// The registry is asked (again) only for a claimed child: a
			// new household entry turns the link into a guardian one.
			self, err := s.Person(ctx, *u.PersonID)
			if err != nil {
				return FamilyMember{}, err
			}
			if _, err := s.proveFromRegistry(ctx, self, p); err != nil {
				return FamilyMember{}, err
			}
			guardianship = GuardianUnproven
		}
		src, err := s.guardianSource(ctx, *u.PersonID, p.ID)
		if err != nil {
			return FamilyMember{}, err
		}
		if src != "" {
			guardianship = src
		}
	}
	acc, err := s.AccessTo(ctx, u, p.ID)
	if err != nil {
		return FamilyMember{}, err
	}
	return FamilyMember{MemberID: row.ID, NameMasked: models.MaskName(p.Name), IDNumberMasked: models.MaskIDNumber(p.IDNumber),
		Relation: row.Relation, RecordsAccess: acc, Guardianship: guardianship, RecordsAccessNote: RecordsAccessNote(acc, guardianship),
		AddedAt: row.CreatedAt}, nil
}

// ListFamily lists the caller's family members.
func (s *People) ListFamily(ctx context.Context, userID string) ([]FamilyMember, error) {
	var rows []store.FamilyRow
	if err := s.Conn(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("list family", err)
	}
	out := make([]FamilyMember, 0, len(rows))
	for _, r := range rows {
		p, err := s.Person(ctx, r.PersonID)
		if err != nil {
			return nil, err
		}
		v, err := s.memberView(ctx, userID, r, p)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// RemoveFamilyMember removes one of the caller's members.
func (s *People) RemoveFamilyMember(ctx context.Context, userID, memberID string) error {
	res := s.Conn(ctx).Where("id = ? AND user_id = ?", memberID, userID).Delete(&store.FamilyRow{})
	if res.Error != nil {
		return kernel.Internal("remove member", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}

// GrantInput lets another user see the caller's records.
type GrantInput struct {
	GranteeUserID   string `json:"grantee_user_id"`
	GranteeIDNumber string `json:"grantee_id_number"`
}

// Grant is a masked view of a records-access grant.
type Grant struct {
	GrantID         string     `json:"grant_id"`
	GranteeUserID   string     `json:"grantee_user_id,omitempty"`
	GranteeIDMasked string     `json:"grantee_id_number_masked,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	RevokedAt       *time.Time `json:"revoked_at,omitempty"`
}

// GrantRecordsAccess lets a user, or every account of a person, see the
// caller's contribution history, certificates and refunds.
func (s *People) GrantRecordsAccess(ctx context.Context, userID string, in GrantInput) (Grant, error) {
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return Grant{}, err
	}
	row := store.GrantRow{ID: kernel.NewID("g"), GrantorPersonID: self.ID, CreatedAt: s.Now()}
	view := Grant{GrantID: row.ID, CreatedAt: row.CreatedAt}
	switch {
	case in.GranteeUserID != "" && in.GranteeIDNumber == "":
		var u store.UserRow
		err := s.Conn(ctx).Select("id", "person_id", "verified_at").Where("id = ?", in.GranteeUserID).Take(&u).Error
		if err != nil && !kernel.IsNotFound(err) {
			return Grant{}, kernel.Internal("grantee", err)
		}
		if err != nil || in.GranteeUserID == userID {
			return Grant{}, models.ErrInvalid.WithReason("被授权用户不存在")
		}
		// An account is only a login until its holder proves who they
		// are: a grant to one that has not would open her records to
		// whoever holds it, as a grant by ID number never does.
		if u.VerifiedAt == nil || u.PersonID == nil {
			return Grant{}, models.ErrInvalid.WithReason("被授权人尚未实名认证")
		}
		if *u.PersonID == self.ID {
			return Grant{}, models.ErrInvalid.WithReason("不能授权给本人")
		}
		row.GranteeUserID = in.GranteeUserID
		view.GranteeUserID = in.GranteeUserID
	case in.GranteeIDNumber != "" && in.GranteeUserID == "":
		id, err := models.ParseIDNumber(in.GranteeIDNumber)
		if err != nil {
			return Grant{}, err
		}
		if id.Number == self.IDNumber {
			return Grant{}, models.ErrInvalid.WithReason("不能授权给本人")
		}
		// Whether a number is someone's here is an answer too: the
		// look-up spends the name/ID budget like any other check.
		if err := s.SpendIdentityCheck(ctx, userID); err != nil {
			return Grant{}, err
		}
		var p store.PersonRow
		err = s.Conn(ctx).Where("id_index IN ?", s.PII.BlindIndexes("id_number", id.Number)).Take(&p).Error
		if err != nil && !kernel.IsNotFound(err) {
			return Grant{}, kernel.Internal("grantee", err)
		}
		// A person row alone proves nothing about its owner: anyone who
		// adds a person as a family member makes one. The grantee is a
		// person who has bound this number to an account of their own.
		var verified int64
		if err == nil {
			if err := s.Conn(ctx).Model(&store.UserRow{}).Where("person_id = ? AND verified_at IS NOT NULL", p.ID).Count(&verified).Error; err != nil {
				return Grant{}, kernel.Internal("grantee", err)
			}
		}
		if verified == 0 {
			return Grant{}, models.ErrInvalid.WithReason("被授权人尚未实名认证")
		}
		row.GranteePersonID = p.ID
		view.GranteeIDMasked = models.MaskIDNumber(id.Number)
	default:
		return Grant{}, models.ErrInvalid.WithReason("请提供 grantee_user_id 或 grantee_id_number 之一")
	}
	// Giving again what is already given answers with the live grant: one
	// grant to end, not two.
	var live store.GrantRow
	err = s.Conn(ctx).Where("grantor_person_id = ? AND revoked_at IS NULL AND grantee_user_id = ? AND grantee_person_id = ?",
		self.ID, row.GranteeUserID, row.GranteePersonID).Order("created_at, id").Take(&live).Error
	switch {
	case err == nil:
		view.GrantID, view.CreatedAt = live.ID, live.CreatedAt
		return view, nil
	case !kernel.IsNotFound(err):
		return Grant{}, kernel.Internal("grant", err)
	}
	if err := s.Conn(ctx).Create(&row).Error; err != nil {
		return Grant{}, kernel.Internal("grant", err)
	}
	return view, nil
}

// ListGrants lists the grants the caller has given.
func (s *People) ListGrants(ctx context.Context, userID string) ([]Grant, error) {
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return nil, err
	}
	var rows []store.GrantRow
	if err := s.Conn(ctx).Where("grantor_person_id = ?", self.ID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("list grants", err)
	}
	out := make([]Grant, 0, len(rows))
	for _, r := range rows {
		g := Grant{GrantID: r.ID, GranteeUserID: r.GranteeUserID, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt}
		if r.GranteePersonID != "" {
			p, err := s.Person(ctx, r.GranteePersonID)
			if err != nil {
				return nil, err
			}
			g.GranteeIDMasked = models.MaskIDNumber(p.IDNumber)
		}
		out = append(out, g)
	}
	return out, nil
}

// RevokeGrant ends one of the caller's grants, and with it every other
// live grant of the caller's that reaches the same person: the person was
// told that the grantee can no longer see their records, and a second
// grant (two taps on 授权, two phones, or one to an account of theirs
// and one to them by ID number) would otherwise keep them open.
func (s *People) RevokeGrant(ctx context.Context, userID, grantID string) error {
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return err
	}
	var g store.GrantRow
	err = s.Conn(ctx).Where("id = ? AND grantor_person_id = ? AND revoked_at IS NULL", grantID, self.ID).Take(&g).Error
	if kernel.IsNotFound(err) {
		return models.ErrNotFound
	}
	if err != nil {
		return kernel.Internal("grant", err)
	}
	// The person the grant reaches: named, or the one its account is bound
	// to (none for an account not yet verified).
	person := g.GranteePersonID
	if person == "" {
		var u store.UserRow
		if err := s.Conn(ctx).Where("id = ?", g.GranteeUserID).Take(&u).Error; err != nil && !kernel.IsNotFound(err) {
			return kernel.Internal("grantee", err)
		}
		if u.PersonID != nil {
			person = *u.PersonID
		}
	}
	reach := s.Conn(ctx).Where("grantee_user_id = ? AND grantee_user_id <> ''", g.GranteeUserID)
	if person != "" {
		reach = reach.Or("grantee_person_id = ?", person).
			Or("grantee_user_id IN (?)", s.Conn(ctx).Model(&store.UserRow{}).Select("id").Where("person_id = ?", person))
	}
	res := s.Conn(ctx).Model(&store.GrantRow{}).Where("grantor_person_id = ? AND revoked_at IS NULL", self.ID).Where(reach).
		Update("revoked_at", s.Now())
	if res.Error != nil {
		return kernel.Internal("revoke", res.Error)
	}
	if res.RowsAffected == 0 {
		// Ended by a concurrent revoke meanwhile.
		return models.ErrNotFound
	}
	return nil
}
