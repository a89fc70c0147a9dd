package people

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// PersonRef names a person in a request: "self", a family member id, or —
// for paying only — an inline name and ID number (代缴).
type PersonRef struct {
	Self     bool
	MemberID string
	Name     string
	IDNumber string
}

// UnmarshalJSON accepts "self", "<member_id>" or {"name":…,"id_number":…}.
func (p *PersonRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s == "" {
			return errors.New("person must not be empty")
		}
		*p = PersonRef{Self: s == "self", MemberID: s}
		if p.Self {
			p.MemberID = ""
		}
		return nil
	}
	var o struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New(`person must be "self", a member_id or {"name","id_number"}`)
	}
	*p = PersonRef{Name: o.Name, IDNumber: o.IDNumber}
	return nil
}

// ParsePersonRef reads the ?person= query form ("self" or a member id;
// empty means self).
func ParsePersonRef(q string) PersonRef {
	if q == "" || q == "self" {
		return PersonRef{Self: true}
	}
	return PersonRef{MemberID: q}
}

// Access says why a user may see a person's records.
type Access string

// Access levels, weakest last.
const (
	AccessSelf     Access = "self"
	AccessGuardian Access = "guardian"
	AccessGrant    Access = "grant"
	AccessPayOnly  Access = "none" // may pay for the person, not see history
)

// RecordsAccessNote explains an access level to the user.
func RecordsAccessNote(a Access, guardianship string) string {
	switch a {
	case AccessSelf:
		return "本人"
	case AccessGuardian:
		if guardianship == GuardianConsent {
			return "经已核验监护人同意的监护人，可查看缴费记录、申请退费"
		}
		return "经户籍信息核验的监护人，可查看缴费记录、申请退费"
	case AccessGrant:
		return "本人已授权查看缴费记录；退费只能由缴费人或本人申请"
	}
	if guardianship == GuardianUnproven {
		return "监护关系未经户籍核验，仅可代缴，不能查看缴费记录或申请退费；可由已核验的监护人同意后开通"
	}
	return "仅可代缴，查看缴费记录需本人授权"
}

// CheckedPerson verifies a name and ID number with the identity verifier
// and returns the matching person, registering them on first sight. Each
// check that reaches the verifier spends the identity-check budget of
// userID and of the client address in ctx (see SpendIdentityCheck);
// userID is empty only for operator actions such as seeding.
func (s *People) CheckedPerson(ctx context.Context, userID, name, idNumber, ticket string) (kernel.Person, error) {
	parsed, err := models.ParseIDNumber(strings.TrimSpace(idNumber))
	if err != nil {
		return kernel.Person{}, err
	}
	if name, err = models.CheckPersonName(name); err != nil {
		return kernel.Person{}, err
	}
	if parsed.Birth.After(s.Now()) {
		return kernel.Person{}, models.ErrIDNumberInvalid
	}
	if s.Identity == nil {
		// No person registry is connected: nobody can be verified, and
		// nobody is taken at their word.
		return kernel.Person{}, models.ErrUnavailable.WithReason("identity verifier not configured")
	}
	if err := s.SpendIdentityCheck(ctx, userID); err != nil {
		return kernel.Person{}, err
	}
	if err := s.Identity.Verify(ctx, name, parsed.Number, ticket); err != nil {
		return kernel.Person{}, err
	}
	return s.personFor(ctx, name, parsed)
}

// personFor returns the person with the ID number, registering them on
// first sight under name; a person on record under another name is
// ErrIdentityMismatch. The name and number are checked by the caller.
func (s *People) personFor(ctx context.Context, name string, parsed models.IDNumber) (kernel.Person, error) {
	// Every key's index: a person registered before the newest key and
	// not yet rekeyed is found all the same.
	var row store.PersonRow
	err := s.Conn(ctx).Where("id_index IN ?", s.PII.BlindIndexes("id_number", parsed.Number)).Take(&row).Error
	switch {
	case err == nil:
		p, err := s.OpenPerson(row)
		if err != nil {
			return kernel.Person{}, err
		}
		if p.Name != name {
			return kernel.Person{}, models.ErrIdentityMismatch
		}
		return p, nil
	case !kernel.IsNotFound(err):
		return kernel.Person{}, kernel.Internal("find person", err)
	}
	if row, err = s.NewPersonRow(name, parsed); err != nil {
		return kernel.Person{}, err
	}
	if err := s.Conn(ctx).Create(&row).Error; err != nil {
		if kernel.IsDuplicate(err) { // registered concurrently: use theirs
			return s.personFor(ctx, name, parsed)
		}
		return kernel.Person{}, kernel.Internal("create person", err)
	}
	return kernel.Person{ID: row.ID, Name: name, IDNumber: parsed.Number, Parsed: parsed}, nil
}

// IdentityInput is a real-name binding request.
type IdentityInput struct {
	Name         string `json:"name"`
	IDNumber     string `json:"id_number"`
	Phone        string `json:"phone"`
	VerifyTicket string `json:"verify_ticket"`
	// PhoneCode is a WeChat getPhoneNumber code: the phone is then read
	// from WeChat instead of typed in.
	PhoneCode string `json:"phone_code"`
}

// VerifyIdentity binds the caller's account to a person (实名认证).
func (s *People) VerifyIdentity(ctx context.Context, userID string, in IdentityInput) (User, error) {
	if err := s.RateLimit(ctx, "bind:"+userID, s.Opt.BindRateLimit, time.Hour, kernel.LetThrough); err != nil {
		return User{}, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if in.PhoneCode != "" {
		src, ok := s.Logins[u.Channel].(models.PhoneSource)
		if !ok {
			return User{}, models.ErrInvalid.WithReason("当前登录渠道不支持授权手机号")
		}
		phone, err := src.PhoneNumber(ctx, in.PhoneCode)
		if err != nil {
			return User{}, err
		}
		in.Phone = phone
	}
	if in.Phone != "" && !validPhone(in.Phone) {
		return User{}, models.ErrInvalid.WithReason("手机号码格式不正确")
	}
	p, err := s.CheckedPerson(ctx, userID, in.Name, in.IDNumber, in.VerifyTicket)
	if err != nil {
		return User{}, err
	}
	if u.PersonID != nil {
		if *u.PersonID == p.ID {
			return s.userView(ctx, u) // binding again to the same person is harmless
		}
		return User{}, models.ErrIdentityBound
	}
	updates := map[string]any{"person_id": p.ID, "verified_at": s.Now()}
	if in.Phone != "" {
		sealed, err := s.Seal(in.Phone)
		if err != nil {
			return User{}, err
		}
		updates["phone_sealed"] = sealed
	}
	res := s.Conn(ctx).Model(&store.UserRow{}).Where("id = ? AND person_id IS NULL", userID).Updates(updates)
	if res.Error != nil {
		return User{}, kernel.Internal("bind", res.Error)
	}
	if res.RowsAffected != 1 {
		return User{}, models.ErrIdentityBound
	}
	return s.Me(ctx, userID)
}

func validPhone(p string) bool {
	if len(p) != 11 || p[0] != '1' {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ResolveForPaying returns the person a ref names for paying or enrolling:
// self, a family member, or an inline name + ID number that match (which
// also records a payer link so the payable can be declared later).
func (s *People) ResolveForPaying(ctx context.Context, userID string, ref PersonRef) (kernel.Person, error) {
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return kernel.Person{}, err
	}
	switch {
	case ref.Self:
		return self, nil
	case ref.MemberID != "":
		var fm store.FamilyRow
		if err := s.Conn(ctx).Where("id = ? AND user_id = ?", ref.MemberID, userID).Take(&fm).Error; err != nil {
			if kernel.IsNotFound(err) {
				return kernel.Person{}, models.ErrNotFound
			}
			return kernel.Person{}, kernel.Internal("load member", err)
		}
		return s.Person(ctx, fm.PersonID)
	}
	p, err := s.CheckedPerson(ctx, userID, ref.Name, ref.IDNumber, "")
	if err != nil {
		return kernel.Person{}, err
	}
	if p.ID != self.ID {
		link := store.PayerLinkRow{UserID: userID, PersonID: p.ID, CreatedAt: s.Now()}
		if err := s.Conn(ctx).Where(store.PayerLinkRow{UserID: userID, PersonID: p.ID}).FirstOrCreate(&link).Error; err != nil && !kernel.IsDuplicate(err) {
			return kernel.Person{}, kernel.Internal("payer link", err)
		}
	}
	return p, nil
}

// MayPayFor reports whether userID may declare and pay for personID.
func (s *People) MayPayFor(ctx context.Context, userID, personID string) error {
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	return s.MayPayForUser(ctx, u, personID)
}

// MayPayForUser is MayPayFor for a user row the caller has loaded (a
// money step that needs the row again spares the second read).
func (s *People) MayPayForUser(ctx context.Context, u store.UserRow, personID string) error {
	userID := u.ID
	if u.PersonID == nil {
		return models.ErrIdentityRequired
	}
	if *u.PersonID == personID {
		return nil
	}
	var n int64
	if err := s.Conn(ctx).Model(&store.FamilyRow{}).Where("user_id = ? AND person_id = ?", userID, personID).Count(&n).Error; err != nil {
		return kernel.Internal("family check", err)
	}
	if n > 0 {
		return nil
	}
	if err := s.Conn(ctx).Model(&store.PayerLinkRow{}).Where("user_id = ? AND person_id = ?", userID, personID).Count(&n).Error; err != nil {
		return kernel.Internal("payer link check", err)
	}
	if n > 0 {
		return nil
	}
	return models.ErrNotFound
}

// AccessTo says how userID may see personID's records, or ErrNotFound.
func (s *People) AccessTo(ctx context.Context, u store.UserRow, personID string) (Access, error) {
	if u.PersonID != nil && *u.PersonID == personID {
		return AccessSelf, nil
	}
	if u.PersonID != nil {
		// A guardian is proven (household registry or a proven guardian's
		// consent), never taken from the relation a user stated.
		src, err := s.guardianSource(ctx, *u.PersonID, personID)
		if err != nil {
			return "", err
		}
		if src == "" {
			// A child link made before guardianship was proven (or while
			// the registry did not answer) is checked with the registry now.
			if src, err = s.proveClaimedChild(ctx, u, personID); err != nil {
				return "", err
			}
		}
		if src != "" {
			p, err := s.Person(ctx, personID)
			if err != nil {
				return "", err
			}
			if p.Parsed.MinorAt(s.Now()) {
				return AccessGuardian, nil
			}
		}
	}
	q := s.Conn(ctx).Model(&store.GrantRow{}).Where("grantor_person_id = ? AND revoked_at IS NULL", personID)
	if u.PersonID != nil {
		q = q.Where("grantee_user_id = ? OR grantee_person_id = ?", u.ID, *u.PersonID)
	} else {
		q = q.Where("grantee_user_id = ?", u.ID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return "", kernel.Internal("grant", err)
	}
	if n > 0 {
		return AccessGrant, nil
	}
	return AccessPayOnly, nil
}

// ResolveForRecords returns the person whose history a ref names, if the
// caller may see it: self, a proven guardian of a minor, or with a grant.
// A member id of another user is ErrNotFound; a member the caller may pay
// for but not see is ErrForbidden.
func (s *People) ResolveForRecords(ctx context.Context, userID string, ref PersonRef) (kernel.Person, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return kernel.Person{}, err
	}
	if u.PersonID == nil {
		return kernel.Person{}, models.ErrIdentityRequired
	}
	personID := *u.PersonID
	if !ref.Self {
		if ref.MemberID == "" {
			return kernel.Person{}, models.ErrInvalid.WithReason("查询记录请使用 self 或家庭成员编号")
		}
		var fm store.FamilyRow
		if err := s.Conn(ctx).Where("id = ? AND user_id = ?", ref.MemberID, userID).Take(&fm).Error; err != nil {
			if kernel.IsNotFound(err) {
				return kernel.Person{}, models.ErrNotFound
			}
			return kernel.Person{}, kernel.Internal("load member", err)
		}
		personID = fm.PersonID
	}
	acc, err := s.AccessTo(ctx, u, personID)
	if err != nil {
		return kernel.Person{}, err
	}
	if acc == AccessPayOnly {
		return kernel.Person{}, models.ErrForbidden.WithReason("查看他人缴费记录需本人授权")
	}
	return s.Person(ctx, personID)
}
