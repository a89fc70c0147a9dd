package models

import (
	"fmt"
	"time"
)

// The statutory retirement age under 《全国人民代表大会常务委员会关于实施渐进式
// 延迟法定退休年龄的决定》 (2024-09-13, in force 2025-01-01): from a first birth
// month on, every StepMonths of later birth add one month to the original
// age, up to CapMonths. These are national law, identical in every 盟市, not
// yearly fee policy, which is why they are code and not catalog data; which
// original age applies to a female flexible worker (50 or 55) is policy and
// is passed in.
type retirementRule struct {
	originalAge int
	firstYear   int // births from January of this year are delayed
	stepMonths  int
	capMonths   int
}

var (
	retireMen     = retirementRule{originalAge: 60, firstYear: 1965, stepMonths: 4, capMonths: 36}
	retireWomen55 = retirementRule{originalAge: 55, firstYear: 1970, stepMonths: 4, capMonths: 36}
	retireWomen50 = retirementRule{originalAge: 50, firstYear: 1975, stepMonths: 2, capMonths: 60}
)

// RetirementMonth returns the first month (Beijing, day 1) in which a
// person born on birth reaches statutory retirement age. Birth is read as a
// calendar date in its own location, as IDNumber.Birth is. femaleOriginalAge
// is 50 or 55; any value other than 50 is taken as 55, the default, because
// 55 is the later and so the safer cut-off for someone still paying in.
func RetirementMonth(birth time.Time, male bool, femaleOriginalAge int) time.Time {
	rule := retireWomen55
	switch {
	case male:
		rule = retireMen
	case femaleOriginalAge == 50:
		rule = retireWomen50
	}
	by, bm, _ := birth.Date()
	born := by*12 + int(bm) - 1 // months since year 0, so month arithmetic is integer
	delay := 0
	if since := born - rule.firstYear*12; since >= 0 {
		delay = min(since/rule.stepMonths+1, rule.capMonths)
	}
	at := born + rule.originalAge*12 + delay
	return time.Date(at/12, time.Month(at%12+1), 1, 0, 0, 0, 0, Beijing)
}

// retirementDate is the day the age is reached: the birth day of month in
// the retirement month, or that month's last day for births on the 29th–31st
// that the month lacks.
func retirementDate(birth time.Time, month time.Time) time.Time {
	last := time.Date(month.Year(), month.Month()+1, 0, 0, 0, 0, 0, Beijing).Day()
	return time.Date(month.Year(), month.Month(), min(birth.Day(), last), 0, 0, 0, 0, Beijing)
}

// CheckWorkingAge returns nil when the person is at least 16 and has not
// reached statutory retirement age at now (both on Beijing dates), and
// otherwise ErrNotEligible with a reason the person can act on. It is the
// age test of flexible-worker enrolment.
func CheckWorkingAge(id IDNumber, femaleOriginalAge int, now time.Time) error {
	if id.AgeAt(now) < 16 {
		return ErrNotEligible.WithReason("未满16周岁，不能以灵活就业人员身份参保")
	}
	month := RetirementMonth(id.Birth, id.Male, femaleOriginalAge)
	y, m, d := now.In(Beijing).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, Beijing)
	if !today.Before(retirementDate(id.Birth, month)) {
		return ErrNotEligible.WithReason(fmt.Sprintf("已达到法定退休年龄（%d年%d月），不能再以灵活就业人员身份参保", month.Year(), int(month.Month())))
	}
	return nil
}

// Months are counted as integers (year*12 + month-1) where the rules need
// arithmetic on them; periods are "YYYYMM".
func monthIndex(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }

func indexPeriod(i int) string { return fmt.Sprintf("%04d%02d", i/12, i%12+1) }

func periodIndex(p string) (int, bool) {
	t, err := time.Parse("200601", p)
	if err != nil || t.Format("200601") != p {
		return 0, false
	}
	return monthIndex(t), true
}

// extensionFrom is the first retirement month 延长缴费 applies to: the 2024
// decision lets those who reach the statutory age from its entry into
// force (2025-01-01) with too few contribution years keep paying.
var extensionFrom = 2025 * 12

// MinimumContributionMonths is the minimum contribution period for a
// monthly pension of someone reaching the statutory age in year: 15 years,
// and from 2030 six months more each year up to 20 years (2024 decision,
// art. 2 and 《实施办法》 art. 4).
func MinimumContributionMonths(year int) int {
	if year < 2030 {
		return 15 * 12
	}
	return min(15*12+6*(year-2029), 20*12)
}

// Extension is what 延长缴费 means for one person.
type Extension struct {
	// Open: the person may keep paying flexible pension past the statutory
	// age.
	Open bool
	// MinimumMonths is the minimum that applies to them.
	MinimumMonths int
	// Reason says why it is open or not, in words for the person.
	Reason string
}

// ExtensionFor decides 延长缴费 for a person who reaches the statutory age
// in retirement, from the agency's record (known=false when it could not
// be asked).
func ExtensionFor(retirement time.Time, rec ContributionRecord, known bool) Extension {
	minimum := MinimumContributionMonths(retirement.Year())
	x := Extension{MinimumMonths: minimum}
	switch {
	case monthIndex(retirement) < extensionFrom:
		x.Reason = "您在2025年1月1日前达到法定退休年龄，不适用延长缴费；补缴等事宜请到社保经办机构咨询"
	case !known:
		x.Reason = "暂时无法查询您的累计缴费年限，能否延长缴费请稍后再试或到社保经办机构咨询"
	case rec.Months == 0:
		// Extension continues contributions; someone the agency has no
		// contributions for cannot newly join the employee scheme past the
		// age, and the agency decides what else is open to them.
		x.Reason = "社保经办机构没有您的养老保险缴费记录，达到法定退休年龄后不能再以灵活就业人员身份新参保，请到社保经办机构咨询"
	case rec.Months >= minimum:
		x.Reason = fmt.Sprintf("您的累计缴费年限（%s）已满最低缴费年限（%s），请到社保经办机构申领基本养老金", yearsMonths(rec.Months), yearsMonths(minimum))
	default:
		x.Open = true
		x.Reason = fmt.Sprintf("您的累计缴费年限为%s，不足最低缴费年限%s，可以参加灵活就业人员养老保险延长缴费至满%s",
			yearsMonths(rec.Months), yearsMonths(minimum), yearsMonths(minimum))
	}
	return x
}

// Through is the last month of an open extension as seen from a payable
// whose first month is first: the months still missing on the agency's
// record, counted from the month after the later of the record's last
// month and the month before first (earlier months cannot be paid here
// any more, so counting them would end the extension short of the
// minimum). It is never before the retirement month. A record with no
// month counts from first.
func (x Extension) Through(rec ContributionRecord, retirement time.Time, first int) (int, bool) {
	if !x.Open {
		return 0, false
	}
	asOf, ok := periodIndex(rec.AsOf)
	if !ok {
		asOf = first - 1 // no month on record
	}
	return max(max(asOf, first-1)+x.MinimumMonths-rec.Months, monthIndex(retirement)), true
}

// yearsMonths renders a number of months as people say contribution
// periods: "11年", "15年6个月".
func yearsMonths(months int) string {
	s := fmt.Sprintf("%d年", months/12)
	if months%12 != 0 {
		s += fmt.Sprintf("%d个月", months%12)
	}
	return s
}

// FlexibleRetirementMonth is RetirementMonth with the original female age
// of the region the person is enrolled in.
func (b *PolicyBook) FlexibleRetirementMonth(region string, id IDNumber) time.Time {
	return RetirementMonth(id.Birth, id.Male, b.Rules(region).FemaleFlexibleRetirementAge)
}
