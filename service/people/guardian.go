package people

import (
	"context"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// Guardianship of a minor is proven, not claimed (issue 8). Anyone who
// knows a child's name and ID number can add the child as a family member,
// and that link lets them pay, nothing more. A guardian sees the child's
// records and may ask the child's money back only when the person
// registry's household (户籍) relations name them as the child's guardian,
// or when a guardian proven that way consented. Guardianship is held per
// person, so every account of a proven guardian has it, and it ends when
// the child comes of age.

// Where a guardianship comes from.
const (
	GuardianRegistry = "registry" // the registry's household relations
	GuardianConsent  = "consent"  // a registry-proven guardian's consent
	// GuardianUnproven is a child link nobody proved: pay-only.
	GuardianUnproven = "unproven"
)

// guardianSource says how guardianID is a proven guardian of minorID
// ("" when not). It does not look at age: callers do.
func (s *People) guardianSource(ctx context.Context, guardianID, minorID string) (string, error) {
	var rows []store.GuardianshipRow
	if err := s.Conn(ctx).Where("minor_person_id = ? AND guardian_person_id = ? AND revoked_at IS NULL", minorID, guardianID).
		Find(&rows).Error; err != nil {
		return "", kernel.Internal("guardianship", err)
	}
	src := ""
	for _, r := range rows {
		if r.Source == GuardianRegistry {
			return GuardianRegistry, nil
		}
		src = r.Source
	}
	return src, nil
}

// ProvenGuardian reports whether guardianID is a proven guardian of p now
// (p is a minor and the guardianship is recorded).
func (s *People) ProvenGuardian(ctx context.Context, guardianID string, p kernel.Person) (bool, error) {
	if guardianID == "" || guardianID == p.ID || !p.Parsed.MinorAt(s.Now()) {
		return false, nil
	}
	src, err := s.guardianSource(ctx, guardianID, p.ID)
	return src != "", err
}

// proveFromRegistry asks the person registry whether guardian is in minor's
// household as a guardian and records it if so. A registry that is not
// connected or does not answer proves nothing: the link stays pay-only and
// is tried again the next time the family is listed.
func (s *People) proveFromRegistry(ctx context.Context, guardian, minor kernel.Person) (bool, error) {
	if !minor.Parsed.MinorAt(s.Now()) || guardian.ID == minor.ID {
		return false, nil
	}
	if src, err := s.guardianSource(ctx, guardian.ID, minor.ID); err != nil || src == GuardianRegistry {
		return src == GuardianRegistry, err
	}
	reg, ok := s.Identity.(models.HouseholdRegistry)
	if !ok {
		return false, nil
	}
	ids, err := reg.Guardians(ctx, minor.IDNumber)
	if err != nil {
		s.Log.WarnContext(ctx, "household registry unavailable; guardianship not proven now", "err", err)
		return false, nil
	}
	found := false
	for _, id := range ids {
		found = found || strings.EqualFold(id, guardian.IDNumber)
	}
	if !found {
		return false, nil
	}
	row := store.GuardianshipRow{ID: kernel.NewID("gd"), MinorPersonID: minor.ID, GuardianPersonID: guardian.ID, Source: GuardianRegistry,
		CreatedAt: s.Now()}
	if err := s.Conn(ctx).Create(&row).Error; err != nil {
		return false, kernel.Internal("record guardianship", err)
	}
	s.Log.InfoContext(ctx, "guardianship proven by the household registry", "minor", models.MaskIDNumber(minor.IDNumber),
		"guardian", models.MaskIDNumber(guardian.IDNumber))
	return true, nil
}

// proveClaimedChild asks the registry about a minor u has a child link to
// and returns GuardianRegistry if it proves the guardianship.
func (s *People) proveClaimedChild(ctx context.Context, u store.UserRow, personID string) (string, error) {
	var n int64
	if err := s.Conn(ctx).Model(&store.FamilyRow{}).Where("user_id = ? AND person_id = ? AND relation = ?", u.ID, personID, RelationChild).
		Count(&n).Error; err != nil {
		return "", kernel.Internal("family", err)
	}
	if n == 0 || u.PersonID == nil {
		return "", nil
	}
	self, err := s.Person(ctx, *u.PersonID)
	if err != nil {
		return "", err
	}
	minor, err := s.Person(ctx, personID)
	if err != nil {
		return "", err
	}
	ok, err := s.proveFromRegistry(ctx, self, minor)
	if err != nil || !ok {
		return "", err
	}
	return GuardianRegistry, nil
}

// GuardianConsentInput names the person a proven guardian lets share the
// guardianship of a minor (the other parent, a grandparent raising the
// child): by ID number, of someone who has verified their identity.
type GuardianConsentInput struct {
	GuardianIDNumber string `json:"guardian_id_number"`
}

// Guardian is one guardian of a minor as a proven guardian sees it.
type Guardian struct {
	GuardianID     string     `json:"guardian_id"`
	NameMasked     string     `json:"name_masked"`
	IDNumberMasked string     `json:"id_number_masked"`
	Source         string     `json:"source"`
	ConsentedByMe  bool       `json:"consented_by_me"`
	CreatedAt      time.Time  `json:"created_at"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
}

// minorOfMember loads the minor a caller's family member names, if the
// caller is a registry-proven guardian of them: only such a guardian may
// consent for the child or see who else is guardian.
func (s *People) minorOfMember(ctx context.Context, userID, memberID string) (kernel.Person, kernel.Person, error) {
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return kernel.Person{}, kernel.Person{}, err
	}
	var fm store.FamilyRow
	if err := s.Conn(ctx).Where("id = ? AND user_id = ?", memberID, userID).Take(&fm).Error; err != nil {
		if kernel.IsNotFound(err) {
			return kernel.Person{}, kernel.Person{}, models.ErrNotFound
		}
		return kernel.Person{}, kernel.Person{}, kernel.Internal("load member", err)
	}
	minor, err := s.Person(ctx, fm.PersonID)
	if err != nil {
		return kernel.Person{}, kernel.Person{}, err
	}
	if !minor.Parsed.MinorAt(s.Now()) {
		return kernel.Person{}, kernel.Person{}, models.ErrGuardianshipNotProven.WithReason("该家庭成员已成年，监护关系不适用，请由本人授权查看")
	}
	if _, err := s.proveFromRegistry(ctx, self, minor); err != nil {
		return kernel.Person{}, kernel.Person{}, err
	}
	src, err := s.guardianSource(ctx, self.ID, minor.ID)
	if err != nil {
		return kernel.Person{}, kernel.Person{}, err
	}
	if src != GuardianRegistry {
		return kernel.Person{}, kernel.Person{}, models.ErrGuardianshipNotProven.WithReason("户籍信息未显示您是该未成年人的监护人，只有经户籍核验的监护人可以办理")
	}
	return self, minor, nil
}

// ConsentGuardian is a registry-proven guardian letting another verified
// person be the minor's guardian here too.
func (s *People) ConsentGuardian(ctx context.Context, userID, memberID string, in GuardianConsentInput) (Guardian, error) {
	self, minor, err := s.minorOfMember(ctx, userID, memberID)
	if err != nil {
		return Guardian{}, err
	}
	id, err := models.ParseIDNumber(strings.TrimSpace(in.GuardianIDNumber))
	if err != nil {
		return Guardian{}, err
	}
	if id.Number == self.IDNumber || id.Number == minor.IDNumber {
		return Guardian{}, models.ErrInvalid.WithReason("请填写另一位监护人的身份证号码")
	}
	// The answer says whether the number is someone's here and shows their
	// masked name: a look-up by ID number spends the name/ID budget, so it
	// cannot be used to sweep numbers.
	if err := s.SpendIdentityCheck(ctx, userID); err != nil {
		return Guardian{}, err
	}
	var pr store.PersonRow
	err = s.Conn(ctx).Where("id_index IN ?", s.PII.BlindIndexes("id_number", id.Number)).Take(&pr).Error
	if kernel.IsNotFound(err) {
		return Guardian{}, models.ErrInvalid.WithReason("该监护人尚未实名认证")
	}
	if err != nil {
		return Guardian{}, kernel.Internal("guardian", err)
	}
	g, err := s.OpenPerson(pr)
	if err != nil {
		return Guardian{}, err
	}
	if g.Parsed.MinorAt(s.Now()) {
		return Guardian{}, models.ErrInvalid.WithReason("监护人应为成年人")
	}
	if src, err := s.guardianSource(ctx, g.ID, minor.ID); err != nil {
		return Guardian{}, err
	} else if src != "" {
		return Guardian{}, models.ErrFamilyExists.WithReason("该监护人已是经核验的监护人")
	}
	row := store.GuardianshipRow{ID: kernel.NewID("gd"), MinorPersonID: minor.ID, GuardianPersonID: g.ID, Source: GuardianConsent,
		ConsentedByPersonID: self.ID, CreatedAt: s.Now()}
	if err := s.Conn(ctx).Create(&row).Error; err != nil {
		return Guardian{}, kernel.Internal("consent guardian", err)
	}
	s.Log.InfoContext(ctx, "guardianship by consent", "minor", models.MaskIDNumber(minor.IDNumber),
		"guardian", models.MaskIDNumber(g.IDNumber), "consented_by", models.MaskIDNumber(self.IDNumber))
	return guardianView(row, g, self.ID), nil
}

func guardianView(r store.GuardianshipRow, g kernel.Person, selfID string) Guardian {
	return Guardian{GuardianID: r.ID, NameMasked: models.MaskName(g.Name), IDNumberMasked: models.MaskIDNumber(g.IDNumber),
		Source: r.Source, ConsentedByMe: r.ConsentedByPersonID == selfID && r.ConsentedByPersonID != "", CreatedAt: r.CreatedAt,
		RevokedAt: r.RevokedAt}
}

// ListGuardians lists a minor's proven guardians (and revoked consents)
// for a registry-proven guardian of that minor.
func (s *People) ListGuardians(ctx context.Context, userID, memberID string) ([]Guardian, error) {
	self, minor, err := s.minorOfMember(ctx, userID, memberID)
	if err != nil {
		return nil, err
	}
	var rows []store.GuardianshipRow
	if err := s.Conn(ctx).Where("minor_person_id = ?", minor.ID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("guardians", err)
	}
	out := make([]Guardian, 0, len(rows))
	for _, r := range rows {
		g, err := s.Person(ctx, r.GuardianPersonID)
		if err != nil {
			return nil, err
		}
		out = append(out, guardianView(r, g, self.ID))
	}
	return out, nil
}

// RevokeGuardian ends a guardianship given by consent. Any registry-proven
// guardian of the minor may end it; a registry guardianship cannot be
// ended here.
func (s *People) RevokeGuardian(ctx context.Context, userID, memberID, guardianID string) error {
	_, minor, err := s.minorOfMember(ctx, userID, memberID)
	if err != nil {
		return err
	}
	res := s.Conn(ctx).Model(&store.GuardianshipRow{}).
		Where("id = ? AND minor_person_id = ? AND source = ? AND revoked_at IS NULL", guardianID, minor.ID, GuardianConsent).
		Update("revoked_at", s.Now())
	if res.Error != nil {
		return kernel.Internal("revoke guardian", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.ErrNotFound
	}
	return nil
}
