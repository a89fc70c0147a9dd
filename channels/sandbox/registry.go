package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// DemoPerson is a fixed person of the sandbox registry, so a demo can show
// a mismatch, a retired person and someone insured through an employer.
type DemoPerson struct {
	Name     string
	IDNumber string
	Note     string
	// UnitInsured names the employer for people insured through a unit
	// ("pension" or "medical" → unit name).
	UnitInsured map[string]string
	// Guardians names the fixed people registered in the same household
	// (户籍) as this person's guardians.
	Guardians []string
	// Contribution is the 社保 agency's record of pension contributions,
	// for people near or past retirement age (延长缴费).
	Contribution *models.ContributionRecord
	// Assistance are the civil affairs statuses the person holds (资助参保).
	Assistance []models.AssistanceStatus
}

// DemoPeople returns the sandbox registry's fixed people. ID numbers are
// generated with valid check digits from fixed birth dates.
func DemoPeople() []DemoPerson {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	return []DemoPerson{
		{Name: "张三明", IDNumber: models.MakeIDNumber("150102", d(1990, 3, 7), 123), Note: "灵活就业人员，呼和浩特"},
		{Name: "李秀英", IDNumber: models.MakeIDNumber("150102", d(1962, 5, 12), 222), Note: "张三明的母亲，城乡居民"},
		{Name: "张小雨", IDNumber: models.MakeIDNumber("150102", d(2016, 9, 1), 42), Note: "张三明的女儿，未成年",
			Guardians: []string{"张三明"}},
		{Name: "王建国", IDNumber: models.MakeIDNumber("150203", d(1958, 1, 20), 311), Note: "已达退休年龄"},
		{Name: "赵海峰", IDNumber: models.MakeIDNumber("150402", d(1985, 11, 2), 517), Note: "已通过单位参保",
			UnitInsured: map[string]string{"pension": "赤峰市某建材有限公司", "medical": "赤峰市某建材有限公司"}},
		// 刘建华 reaches 60 years 1 month in April 2025 with 11 years of
		// contributions on the agency's record: eligible for 延长缴费.
		{Name: "刘建华", IDNumber: models.MakeIDNumber("150102", d(1965, 3, 8), 101), Note: "2025年达到退休年龄，缴费11年，可延长缴费",
			Contribution: &models.ContributionRecord{Months: 11 * 12, AsOf: "202504"}},
		{Name: "孙小梅", IDNumber: models.MakeIDNumber("150102", d(1988, 12, 8), 222), Note: "低保对象，城乡居民医保资助参保",
			Assistance: []models.AssistanceStatus{models.StatusMinimumLiving}},
	}
}

// Registry is the sandbox person registry behind identity checks: a fixed
// person must be named correctly; anyone else with a valid ID number is
// accepted as new (the face check a real channel does is what the sandbox
// skips). Its household relations are the fixed people's; anyone new has
// none.
type Registry struct {
	names     map[string]string
	guardians map[string][]string // ID number → guardians' ID numbers
}

// NewRegistry returns a registry of people.
func NewRegistry(people []DemoPerson) *Registry {
	r := &Registry{names: map[string]string{}, guardians: map[string][]string{}}
	byName := map[string]string{}
	for _, p := range people {
		r.names[strings.ToUpper(p.IDNumber)] = p.Name
		byName[p.Name] = strings.ToUpper(p.IDNumber)
	}
	for _, p := range people {
		for _, g := range p.Guardians {
			if id, ok := byName[g]; ok {
				r.guardians[strings.ToUpper(p.IDNumber)] = append(r.guardians[strings.ToUpper(p.IDNumber)], id)
			}
		}
	}
	return r
}

var (
	_ models.IdentityVerifier  = (*Registry)(nil)
	_ models.HouseholdRegistry = (*Registry)(nil)
)

// Guardians implements models.HouseholdRegistry.
func (r *Registry) Guardians(ctx context.Context, idNumber string) ([]string, error) {
	return append([]string{}, r.guardians[strings.ToUpper(idNumber)]...), nil
}

// Verify implements models.IdentityVerifier.
func (r *Registry) Verify(ctx context.Context, name, idNumber, ticket string) error {
	if want, ok := r.names[strings.ToUpper(idNumber)]; ok && want != name {
		return models.ErrIdentityMismatch
	}
	return nil
}

// Settlement stands in for the treasury (TIPS) and the agencies' books:
// money is credited CreditDelay after payment and booked BookDelay after
// payment.
type Settlement struct {
	CreditDelay time.Duration
	BookDelay   time.Duration
	Clock       models.Clock
}

var (
	_ models.Treasury      = Settlement{}
	_ models.AgencyBooking = Settlement{}
)

// CreditStatus implements models.Treasury.
func (s Settlement) CreditStatus(ctx context.Context, ref models.SettlementRef) (models.SettlementResult, error) {
	at := ref.PaidAt.Add(s.CreditDelay)
	if s.Clock.Now().Before(at) {
		return models.SettlementResult{State: models.SettlementPending}, nil
	}
	return models.SettlementResult{State: models.SettlementDone, At: at, VoucherNo: voucher("SP", ref.OrderNo)}, nil
}

// BookingStatus implements models.AgencyBooking.
func (s Settlement) BookingStatus(ctx context.Context, ref models.SettlementRef) (models.SettlementResult, error) {
	at := ref.PaidAt.Add(s.BookDelay)
	if at.Before(ref.CreditedAt) {
		at = ref.CreditedAt
	}
	if s.Clock.Now().Before(at) {
		return models.SettlementResult{State: models.SettlementPending}, nil
	}
	return models.SettlementResult{State: models.SettlementDone, At: at, VoucherNo: voucher("JZ", ref.OrderNo)}, nil
}

// voucher derives a stable voucher number from the order, as the real
// systems hand back their own numbers.
func voucher(prefix, orderNo string) string {
	h := sha256.Sum256([]byte(prefix + orderNo))
	return prefix + strings.ToUpper(hex.EncodeToString(h[:8]))
}
