package models

import (
	"fmt"
	"strings"
	"time"
)

// A unit (单位, an employer) pays social insurance for its staff: its legal
// representative binds it to lianban after the unit registry confirms
// them, it registers schemes by its type, declares its employees' wages
// and pays what the agency assesses each month (unit_rules.go).

// UnitType is the kind of unit as the unit registry records it. It decides
// which schemes the unit may register.
type UnitType string

// The unit types.
const (
	UnitEnterprise  UnitType = "enterprise"  // 企业 (and other employers in the enterprise schemes)
	UnitInstitution UnitType = "institution" // 机关事业单位
)

// Valid reports whether t is a known unit type.
func (t UnitType) Valid() bool { return t == UnitEnterprise || t == UnitInstitution }

// Name is the type's Chinese name.
func (t UnitType) Name() string {
	switch t {
	case UnitEnterprise:
		return "企业"
	case UnitInstitution:
		return "机关事业单位"
	}
	return string(t)
}

// Schemes lists the schemes a unit of type t may register, in a stable
// order: the enterprise schemes for an enterprise, the 机关事业单位
// schemes for an institution.
func (t UnitType) Schemes() []Scheme {
	switch t {
	case UnitEnterprise:
		return []Scheme{SchemeEnterprisePension, SchemeEnterpriseMedical}
	case UnitInstitution:
		return []Scheme{SchemeInstitutionPension, SchemeInstitutionMedical}
	}
	return nil
}

// MayRegister checks that a unit of type t may register scheme s. A scheme
// that is no unit scheme at all is ErrSchemeInvalid; a unit scheme of the
// other type is ErrSchemeNotForUnitType, with a reason naming the one to
// use.
func (t UnitType) MayRegister(s Scheme) error {
	if !s.IsUnit() {
		return ErrSchemeInvalid.WithReason("单位可登记的险种为 enterprise_pension、enterprise_medical、institution_pension、institution_medical")
	}
	if !t.Valid() {
		return ErrSchemeNotForUnitType.WithReason("单位类型未知")
	}
	for _, ok := range t.Schemes() {
		if ok == s {
			return nil
		}
	}
	c := t.counterpart(s)
	return ErrSchemeNotForUnitType.WithReason(fmt.Sprintf("%s不能登记%s（%s），请登记%s（%s）", t.Name(), s.Name(), s, c.Name(), c))
}

// counterpart is the scheme of type t that covers the same risk as s.
func (t UnitType) counterpart(s Scheme) Scheme {
	for _, c := range t.Schemes() {
		if c.Pension() == s.Pension() {
			return c
		}
	}
	return ""
}

// UnitRecord is what the unit registry (市场监管 / 机构编制 登记) says of a
// unit. LegalRepIDNumber is personal data: seal it before it is stored.
type UnitRecord struct {
	USCC             string
	Name             string
	Type             UnitType
	Region           string // 6-digit administrative division code of the unit's seat
	LegalRepName     string
	LegalRepIDNumber string
}

// Period is a 费款所属期: one calendar month, "YYYYMM".
type Period struct {
	Year  int
	Month time.Month
}

// ParsePeriod accepts "YYYYMM" (and "YYYY-MM", the form unit roster files
// use) for a real month of the years 2000–2100; anything else is
// ErrPeriodInvalid.
func ParsePeriod(s string) (Period, error) {
	if len(s) == 7 && s[4] == '-' {
		s = s[:4] + s[5:]
	}
	bad := ErrPeriodInvalid.WithReason("费款所属期应为YYYYMM格式的年月，如202601")
	if len(s) != 6 {
		return Period{}, bad
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return Period{}, bad
		}
	}
	y, m := atoiDigits(s[:4]), atoiDigits(s[4:])
	if y < 2000 || y > 2100 || m < 1 || m > 12 {
		return Period{}, bad
	}
	return Period{Year: y, Month: time.Month(m)}, nil
}

// String is the period as "YYYYMM".
func (p Period) String() string { return fmt.Sprintf("%04d%02d", p.Year, int(p.Month)) }

// MaxMonthlyWageFen bounds a declared monthly wage: 1亿元. Anything above
// is a typo (a wage entered in fen as yuan), and the bound keeps every sum
// of bases and parts far from int64 overflow. Wages above the region's
// upper limit are legal and clamp to it.
const MaxMonthlyWageFen Fen = 100_000_000_00

// ValidateWage checks a declared monthly wage (缴费工资): positive and at
// most MaxMonthlyWageFen. Zero is refused too: a roster line without a
// wage is a mistake to fix, not a wage to raise silently to the lower
// limit. Whole fen is guaranteed by the type; ParseWage checks text.
func ValidateWage(w Fen) error {
	switch {
	case w < 0:
		return ErrWageInvalid.WithReason("缴费工资不能为负数")
	case w == 0:
		return ErrWageInvalid.WithReason("缴费工资应大于0")
	case w > MaxMonthlyWageFen:
		return ErrWageInvalid.WithReason(fmt.Sprintf("缴费工资不能超过 %s 元", groupedYuan(MaxMonthlyWageFen)))
	}
	return nil
}

// ParseWage parses a wage written in yuan with at most two decimals
// ("6500", "6500.5", "6500.50") into fen, exactly, and validates it.
func ParseWage(s string) (Fen, error) {
	f, err := ParseYuan(s)
	if err != nil {
		if len(s) > 0 && s[0] == '-' {
			return 0, ErrWageInvalid.WithReason("缴费工资不能为负数")
		}
		return 0, ErrWageInvalid.WithReason("缴费工资应为金额（元），最多两位小数")
	}
	return f, ValidateWage(f)
}

// ConfirmBinder checks a bind request against the registry's record: the
// unit name the caller typed must be the registered one (compared by
// SameUnitName) and the caller's verified identity must be the registered
// legal representative (name and ID number). Anything else is
// ErrUnitMismatch, with a reason that does not reveal who the legal
// representative is.
func (r UnitRecord) ConfirmBinder(unitName, binderName, binderIDNumber string) error {
	if !SameUnitName(unitName, r.Name) {
		return ErrUnitMismatch.WithReason("单位名称与登记信息不一致，请按营业执照或登记证书填写")
	}
	if binderName != r.LegalRepName || !strings.EqualFold(binderIDNumber, r.LegalRepIDNumber) {
		return ErrUnitMismatch.WithReason("您不是该单位登记的法定代表人（负责人），请由法定代表人绑定")
	}
	return nil
}

// SameUnitName compares unit names as people type them: surrounding white
// space is ignored and ASCII parentheses equal full-width ones, since
// "内蒙古某某（集团）有限公司" is written both ways; nothing else is
// normalised.
func SameUnitName(a, b string) bool {
	norm := strings.NewReplacer("(", "（", ")", "）")
	return norm.Replace(strings.TrimSpace(a)) == norm.Replace(strings.TrimSpace(b))
}

// SuggestedUnitType is the unit type a code's class suggests: 机关 (11),
// 事业单位 (12), 中央编办管理的群众团体 (13) and 军队事业单位 (A1) are
// institutions; every other class (企业, 个体工商户, 社会团体, 民办非企业单位
// …) insures its staff in the enterprise schemes. The registry's type is
// authoritative; this is for a unit the registry does not know, which
// only sandbox mode accepts.
func (u USCC) SuggestedUnitType() UnitType {
	switch u.ClassCode() {
	case "11", "12", "13", "A1":
		return UnitInstitution
	}
	return UnitEnterprise
}
