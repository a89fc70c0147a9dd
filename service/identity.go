package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

// person is a decrypted person, held only in memory while a request runs.
type person struct {
	ID       string
	Name     string
	IDNumber string
	Parsed   models.IDNumber
}

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

func (s *Service) seal(v string) (string, error) {
	out, err := s.PII.Seal(v)
	return out, internal("seal", err)
}

func (s *Service) person(ctx context.Context, id string) (person, error) {
	var row store.PersonRow
	if err := s.db(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return person{}, models.ErrNotFound
		}
		return person{}, internal("load person", err)
	}
	return s.openPerson(row)
}

func (s *Service) openPerson(row store.PersonRow) (person, error) {
	name, err := s.PII.Open(row.NameSealed)
	if err != nil {
		return person{}, internal("open name", err)
	}
	idn, err := s.PII.Open(row.IDSealed)
	if err != nil {
		return person{}, internal("open id", err)
	}
	parsed, err := models.ParseIDNumber(idn)
	if err != nil {
		return person{}, internal("stored id", err)
	}
	return person{ID: row.ID, Name: name, IDNumber: idn, Parsed: parsed}, nil
}

// checkedPerson verifies a name and ID number with the identity verifier
// and returns the matching person, registering them on first sight. Each
// check that reaches the verifier spends the identity-check budget of
// userID and of the client address in ctx (see spendIdentityCheck);
// userID is empty only for operator actions such as seeding.
func (s *Service) checkedPerson(ctx context.Context, userID, name, idNumber, ticket string) (person, error) {
	parsed, err := models.ParseIDNumber(strings.TrimSpace(idNumber))
	if err != nil {
		return person{}, err
	}
	if name, err = models.CheckPersonName(name); err != nil {
		return person{}, err
	}
	if parsed.Birth.After(s.now()) {
		return person{}, models.ErrIDNumberInvalid
	}
	if s.Identity == nil {
		// No person registry is connected: nobody can be verified, and
		// nobody is taken at their word.
		return person{}, models.ErrUnavailable.WithReason("identity verifier not configured")
	}
	if err := s.spendIdentityCheck(ctx, userID); err != nil {
		return person{}, err
	}
	if err := s.Identity.Verify(ctx, name, parsed.Number, ticket); err != nil {
		return person{}, err
	}
	index := s.PII.BlindIndex("id_number", parsed.Number)
	var row store.PersonRow
	err = s.db(ctx).Where("id_index = ?", index).Take(&row).Error
	switch {
	case err == nil:
		p, err := s.openPerson(row)
		if err != nil {
			return person{}, err
		}
		if p.Name != name {
			return person{}, models.ErrIdentityMismatch
		}
		return p, nil
	case !isNotFound(err):
		return person{}, internal("find person", err)
	}
	idSealed, err := s.seal(parsed.Number)
	if err != nil {
		return person{}, err
	}
	nameSealed, err := s.seal(name)
	if err != nil {
		return person{}, err
	}
	row = store.PersonRow{ID: newID("p"), IDIndex: index, IDSealed: idSealed, NameSealed: nameSealed,
		BirthDate: parsed.Birth.Format("2006-01-02"), Male: parsed.Male, IDRegion: parsed.Region, CreatedAt: s.now()}
	if err := s.db(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) { // registered concurrently: use theirs
			return s.checkedPerson(ctx, "", name, idNumber, ticket) // already charged
		}
		return person{}, internal("create person", err)
	}
	return person{ID: row.ID, Name: name, IDNumber: parsed.Number, Parsed: parsed}, nil
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
func (s *Service) VerifyIdentity(ctx context.Context, userID string, in IdentityInput) (User, error) {
	if err := s.RateLimit(ctx, "bind:"+userID, s.opt.BindRateLimit, time.Hour, LetThrough); err != nil {
		return User{}, err
	}
	u, err := s.user(ctx, userID)
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
	p, err := s.checkedPerson(ctx, userID, in.Name, in.IDNumber, in.VerifyTicket)
	if err != nil {
		return User{}, err
	}
	if u.PersonID != nil {
		if *u.PersonID == p.ID {
			return s.userView(ctx, u) // binding again to the same person is harmless
		}
		return User{}, models.ErrIdentityBound
	}
	updates := map[string]any{"person_id": p.ID, "verified_at": s.now()}
	if in.Phone != "" {
		sealed, err := s.seal(in.Phone)
		if err != nil {
			return User{}, err
		}
		updates["phone_sealed"] = sealed
	}
	res := s.db(ctx).Model(&store.UserRow{}).Where("id = ? AND person_id IS NULL", userID).Updates(updates)
	if res.Error != nil {
		return User{}, internal("bind", res.Error)
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

// selfPerson returns the person the caller is bound to, or
// ErrIdentityRequired.
func (s *Service) selfPerson(ctx context.Context, userID string) (person, error) {
	u, err := s.user(ctx, userID)
	if err != nil {
		return person{}, err
	}
	if u.PersonID == nil {
		return person{}, models.ErrIdentityRequired
	}
	return s.person(ctx, *u.PersonID)
}

// resolveForPaying returns the person a ref names for paying or enrolling:
// self, a family member, or an inline name + ID number that match (which
// also records a payer link so the payable can be declared later).
func (s *Service) resolveForPaying(ctx context.Context, userID string, ref PersonRef) (person, error) {
	self, err := s.selfPerson(ctx, userID)
	if err != nil {
		return person{}, err
	}
	switch {
	case ref.Self:
		return self, nil
	case ref.MemberID != "":
		var fm store.FamilyRow
		if err := s.db(ctx).Where("id = ? AND user_id = ?", ref.MemberID, userID).Take(&fm).Error; err != nil {
			if isNotFound(err) {
				return person{}, models.ErrNotFound
			}
			return person{}, internal("load member", err)
		}
		return s.person(ctx, fm.PersonID)
	}
	p, err := s.checkedPerson(ctx, userID, ref.Name, ref.IDNumber, "")
	if err != nil {
		return person{}, err
	}
	if p.ID != self.ID {
		link := store.PayerLinkRow{UserID: userID, PersonID: p.ID, CreatedAt: s.now()}
		if err := s.db(ctx).Where(store.PayerLinkRow{UserID: userID, PersonID: p.ID}).FirstOrCreate(&link).Error; err != nil && !isDuplicate(err) {
			return person{}, internal("payer link", err)
		}
	}
	return p, nil
}

// mayPayFor reports whether userID may declare and pay for personID.
func (s *Service) mayPayFor(ctx context.Context, userID, personID string) error {
	u, err := s.user(ctx, userID)
	if err != nil {
		return err
	}
	if u.PersonID == nil {
		return models.ErrIdentityRequired
	}
	if *u.PersonID == personID {
		return nil
	}
	var n int64
	if err := s.db(ctx).Model(&store.FamilyRow{}).Where("user_id = ? AND person_id = ?", userID, personID).Count(&n).Error; err != nil {
		return internal("family check", err)
	}
	if n > 0 {
		return nil
	}
	if err := s.db(ctx).Model(&store.PayerLinkRow{}).Where("user_id = ? AND person_id = ?", userID, personID).Count(&n).Error; err != nil {
		return internal("payer link check", err)
	}
	if n > 0 {
		return nil
	}
	return models.ErrNotFound
}

// accessTo says how userID may see personID's records, or ErrNotFound.
func (s *Service) accessTo(ctx context.Context, u store.UserRow, personID string) (Access, error) {
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
			p, err := s.person(ctx, personID)
			if err != nil {
				return "", err
			}
			if p.Parsed.MinorAt(s.now()) {
				return AccessGuardian, nil
			}
		}
	}
	q := s.db(ctx).Model(&store.GrantRow{}).Where("grantor_person_id = ? AND revoked_at IS NULL", personID)
	if u.PersonID != nil {
		q = q.Where("grantee_user_id = ? OR grantee_person_id = ?", u.ID, *u.PersonID)
	} else {
		q = q.Where("grantee_user_id = ?", u.ID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return "", internal("grant", err)
	}
	if n > 0 {
		return AccessGrant, nil
	}
	return AccessPayOnly, nil
}

// resolveForRecords returns the person whose history a ref names, if the
// caller may see it: self, a proven guardian of a minor, or with a grant.
// A member id of another user is ErrNotFound; a member the caller may pay
// for but not see is ErrForbidden.
func (s *Service) resolveForRecords(ctx context.Context, userID string, ref PersonRef) (person, error) {
	u, err := s.user(ctx, userID)
	if err != nil {
		return person{}, err
	}
	if u.PersonID == nil {
		return person{}, models.ErrIdentityRequired
	}
	personID := *u.PersonID
	if !ref.Self {
		if ref.MemberID == "" {
			return person{}, models.ErrInvalid.WithReason("查询记录请使用 self 或家庭成员编号")
		}
		var fm store.FamilyRow
		if err := s.db(ctx).Where("id = ? AND user_id = ?", ref.MemberID, userID).Take(&fm).Error; err != nil {
			if isNotFound(err) {
				return person{}, models.ErrNotFound
			}
			return person{}, internal("load member", err)
		}
		personID = fm.PersonID
	}
	acc, err := s.accessTo(ctx, u, personID)
	if err != nil {
		return person{}, err
	}
	if acc == AccessPayOnly {
		return person{}, models.ErrForbidden.WithReason("查看他人缴费记录需本人授权")
	}
	return s.person(ctx, personID)
}
