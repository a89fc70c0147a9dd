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
