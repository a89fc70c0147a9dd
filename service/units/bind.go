package units

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// BindInput is a legal representative binding their unit.
type BindInput struct {
	USCC string `json:"uscc"`
	Name string `json:"name"`
}

// UnitView is a unit as the people acting for it see it, with the
// caller's role.
type UnitView struct {
	UnitID     string `json:"unit_id"`
	USCC       string `json:"uscc"`
	Name       string `json:"name"`
	UnitType   string `json:"unit_type"`
	RegionCode string `json:"region_code"`
	Role       string `json:"role"`
}

func viewOf(u store.UnitRow, role string) UnitView {
	return UnitView{UnitID: u.ID, USCC: u.USCC, Name: u.Name, UnitType: u.UnitType, RegionCode: u.RegionCode, Role: role}
}

// maxUnitNameRunes bounds a unit name (units.name is VARCHAR(128)).
const maxUnitNameRunes = 100

// BindUnit binds the unit named by its 统一社会信用代码 to the caller as
// its legal representative, once the unit registry confirms the unit's
// name and that the caller's verified identity is its legal
// representative. Binding again by the same person answers the same unit.
// In sandbox mode a valid code the registry does not know is a new unit of
// the type its code suggests, with the caller as legal representative.
// Each attempt spends the caller's identity-check budget: it confirms or
// denies who a unit's legal representative is.
func (s *Units) BindUnit(ctx context.Context, userID string, in BindInput) (UnitView, error) {
	code, err := models.ParseUSCC(in.USCC)
	if err != nil {
		return UnitView{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > maxUnitNameRunes || !utf8.ValidString(name) {
		return UnitView{}, models.ErrInvalid.WithReason("请填写单位名称（不超过100字）")
	}
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return UnitView{}, err
	}
	if err := s.SpendIdentityCheck(ctx, userID); err != nil {
		return UnitView{}, err
	}
	if s.UnitRegistry == nil {
		return UnitView{}, models.ErrUnavailable.WithReason("unit registry not configured")
	}
	rec, err := s.UnitRegistry.LookupUnit(ctx, code)
	// registered: the registry itself names the caller as the unit's legal
	// representative (not the sandbox's stand-in for a code it does not
	// know), so the caller takes the unit over from one bound before.
	registered := err == nil
	switch {
	case errors.Is(err, models.ErrUnitUnknown) && s.Opt.Sandbox:
		rec = models.UnitRecord{USCC: code.Code, Name: name, Type: code.SuggestedUnitType(), Region: code.RegionCode(),
			LegalRepName: self.Name, LegalRepIDNumber: self.IDNumber}
	case err != nil:
		return UnitView{}, err
	}
	if err := rec.ConfirmBinder(name, self.Name, self.IDNumber); err != nil {
		return UnitView{}, err
	}
	now := s.Now()
	var out store.UnitRow
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		u := store.UnitRow{ID: kernel.NewID("u"), USCC: code.Code, Name: rec.Name, UnitType: string(rec.Type), RegionCode: rec.Region, CreatedAt: now}
		if _, err := kernel.InsertIfAbsent(tx, &u); err != nil {
			return kernel.Internal("insert unit", err)
		}
		if err := tx.Where("uscc = ?", code.Code).Take(&out).Error; err != nil {
			return kernel.Internal("load unit", err)
		}
		m := store.UnitMemberRow{ID: kernel.NewID("um"), UnitID: out.ID, UserID: userID, PersonID: self.ID,
			Role: store.UnitRoleLegalRep, ActiveKey: store.UnitMemberActiveKey(out.ID, self.ID),
			RepKey: store.UnitMemberRepKey(out.ID, store.UnitRoleLegalRep), AddedBy: userID, CreatedAt: now}
		if ok, err := kernel.InsertIfAbsent(tx, &m); err != nil {
			return kernel.Internal("insert legal rep", err)
		} else if ok {
			return nil
		}
		// Someone is the unit's legal representative here already (or the
		// caller acts for it as 办税员): the same person binding again is
		// answered the same unit.
		var rep store.UnitMemberRow
		if err := tx.Where("rep_key = ?", out.ID).Take(&rep).Error; err != nil && !kernel.IsNotFound(err) {
			return kernel.Internal("load legal rep", err)
		}
		if rep.PersonID == self.ID {
			return nil
		}
		if !registered {
			return models.ErrUnitMismatch.WithReason("该单位已由其法定代表人（负责人）绑定")
		}
		// The registry names the caller now: the legal representative
		// bound before no longer acts for the unit (their row stays as
		// history), nor does the caller's own 办税员 row, which the legal
		// representative's replaces. Operators they authorised stay.
		res := tx.Model(&store.UnitMemberRow{}).
			Where("unit_id = ? AND removed_at IS NULL AND (rep_key = ? OR person_id = ?)", out.ID, out.ID, self.ID).
			Updates(map[string]any{"removed_at": now, "removed_by": userID, "active_key": nil, "rep_key": nil})
		if res.Error != nil {
			return kernel.Internal("replace legal rep", res.Error)
		}
		if ok, err := kernel.InsertIfAbsent(tx, &m); err != nil {
			return kernel.Internal("insert legal rep", err)
		} else if !ok {
			return models.ErrUnitMismatch.WithReason("该单位的法定代表人正在变更，请稍后再试")
		}
		s.Log.InfoContext(ctx, "unit legal representative replaced as the registry says", "unit_id", out.ID, "former_member_id", rep.ID)
		return nil
	})
	if err != nil {
		return UnitView{}, err
	}
	return viewOf(out, store.UnitRoleLegalRep), nil
}

// ListUnits lists the units the caller acts for, with their role.
func (s *Units) ListUnits(ctx context.Context, userID string) ([]UnitView, error) {
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return nil, err
	}
	var ms []store.UnitMemberRow
	if err := s.Conn(ctx).Where("person_id = ? AND removed_at IS NULL", self.ID).Order("created_at, id").Find(&ms).Error; err != nil {
		return nil, kernel.Internal("list memberships", err)
	}
	out := make([]UnitView, 0, len(ms))
	for _, m := range ms {
		u, err := s.Unit(ctx, m.UnitID)
		if err != nil {
			return nil, err
		}
		out = append(out, viewOf(u, m.Role))
	}
	return out, nil
}

// OperatorInput names a person the legal representative authorises as
// 办税员.
type OperatorInput struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// Operator is a person acting for a unit: its legal representative or a
// 办税员.
type Operator struct {
	OperatorID string    `json:"operator_id"`
	NameMasked string    `json:"name_masked"`
	Role       string    `json:"role"`
	AddedAt    time.Time `json:"added_at"`
}

// errOperatorsRepOnly refuses an operator managing operators: they act
// for the unit, so they may know it exists.
var errOperatorsRepOnly = models.ErrForbidden.WithReason("仅法定代表人（负责人）可以管理办税员")

// legalRep checks the caller is the unit's legal representative.
func (s *Units) legalRep(ctx context.Context, userID, unitID string) (Membership, error) {
	m, err := s.ActsFor(ctx, userID, unitID)
	if err != nil {
		return m, err
	}
	if !m.LegalRep() {
		return m, errOperatorsRepOnly
	}
	return m, nil
}

func (s *Units) operatorOf(m store.UnitMemberRow) (Operator, error) {
	p, err := s.Person(context.Background(), m.PersonID)
	if err != nil {
		return Operator{}, err
	}
	return Operator{OperatorID: m.ID, NameMasked: models.MaskName(p.Name), Role: m.Role, AddedAt: m.CreatedAt}, nil
}

// ListUnitOperators lists who acts for the unit (legal representative first).
// Legal representative only.
func (s *Units) ListUnitOperators(ctx context.Context, userID, unitID string) ([]Operator, error) {
	if _, err := s.legalRep(ctx, userID, unitID); err != nil {
		return nil, err
	}
	var ms []store.UnitMemberRow
	if err := s.Conn(ctx).Where("unit_id = ? AND removed_at IS NULL", unitID).Order("created_at, id").Find(&ms).Error; err != nil {
		return nil, kernel.Internal("list operators", err)
	}
	out := make([]Operator, 0, len(ms))
	for _, m := range ms {
		o, err := s.operatorOf(m)
		if err != nil {
			return nil, err
		}
		if m.Role == store.UnitRoleLegalRep {
			out = append([]Operator{o}, out...)
		} else {
			out = append(out, o)
		}
	}
	return out, nil
}

// AddUnitOperator authorises a verified user of lianban as the unit's 办税员.
// The name and ID number must be those of a person some login is bound
// to; whether the person is unknown or the name wrong, the answer is the
// same, and each attempt spends the identity-check budget.
func (s *Units) AddUnitOperator(ctx context.Context, userID, unitID string, in OperatorInput) (Operator, error) {
	if _, err := s.legalRep(ctx, userID, unitID); err != nil {
		return Operator{}, err
	}
	parsed, err := models.ParseIDNumber(strings.TrimSpace(in.IDNumber))
	if err != nil {
		return Operator{}, err
	}
	name, err := models.CheckPersonName(in.Name)
	if err != nil {
		return Operator{}, err
	}
	if err := s.SpendIdentityCheck(ctx, userID); err != nil {
		return Operator{}, err
	}
	var row store.PersonRow
	err = s.Conn(ctx).Where("id_index IN ?", s.PII.BlindIndexes("id_number", parsed.Number)).Take(&row).Error
	if kernel.IsNotFound(err) {
		return Operator{}, models.ErrUnitOperatorUnknown
	}
	if err != nil {
		return Operator{}, kernel.Internal("find operator", err)
	}
	p, err := s.OpenPerson(row)
	if err != nil {
		return Operator{}, err
	}
	var u store.UserRow
	err = s.Conn(ctx).Where("person_id = ?", p.ID).Order("created_at").Take(&u).Error
	if p.Name != name || kernel.IsNotFound(err) {
		return Operator{}, models.ErrUnitOperatorUnknown
	}
	if err != nil {
		return Operator{}, kernel.Internal("find operator user", err)
	}
	m := store.UnitMemberRow{ID: kernel.NewID("um"), UnitID: unitID, UserID: u.ID, PersonID: p.ID, Role: store.UnitRoleOperator,
		ActiveKey: store.UnitMemberActiveKey(unitID, p.ID), AddedBy: userID, CreatedAt: s.Now()}
	ok, err := kernel.InsertIfAbsent(s.Conn(ctx), &m)
	if err != nil {
		return Operator{}, kernel.Internal("insert operator", err)
	}
	if !ok {
		return Operator{}, models.ErrUnitOperatorExists
	}
	return Operator{OperatorID: m.ID, NameMasked: models.MaskName(p.Name), Role: m.Role, AddedAt: m.CreatedAt}, nil
}

// RemoveUnitOperator ends an operator's authorisation; the row stays as
// history. The legal representative cannot be removed this way.
func (s *Units) RemoveUnitOperator(ctx context.Context, userID, unitID, operatorID string) error {
	if _, err := s.legalRep(ctx, userID, unitID); err != nil {
		return err
	}
	var m store.UnitMemberRow
	err := s.Conn(ctx).Where("id = ? AND unit_id = ? AND removed_at IS NULL", operatorID, unitID).Take(&m).Error
	if kernel.IsNotFound(err) {
		return models.ErrNotFound
	}
	if err != nil {
		return kernel.Internal("load operator", err)
	}
	if m.Role == store.UnitRoleLegalRep {
		return models.ErrUnitLegalRepFixed
	}
	now := s.Now()
	res := s.Conn(ctx).Model(&store.UnitMemberRow{}).Where("id = ? AND removed_at IS NULL", m.ID).
		Updates(map[string]any{"removed_at": now, "removed_by": userID, "active_key": nil, "rep_key": nil})
	if res.Error != nil {
		return kernel.Internal("remove operator", res.Error)
	}
	if res.RowsAffected != 1 {
		return models.ErrNotFound // removed concurrently
	}
	return nil
}
