package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/service/units/roster"
)

// rosterSize is the roster the issue asks to import in one request.
const rosterSize = 5000

// newUnit binds a fresh sandbox unit (a new valid code each time) to the
// rig's user and registers both enterprise schemes.
func (r *rig) newUnit(b *testing.B) string {
	r.n++
	ctx := context.Background()
	code := models.MakeUSCC(fmt.Sprintf("91150100MA%07d", r.n))
	u, err := r.env.Svc.BindUnit(ctx, r.sess.UserID, units.BindInput{USCC: code, Name: fmt.Sprintf("压测单位%d", r.n)})
	if err != nil {
		b.Fatal(err)
	}
	for _, sc := range []models.Scheme{models.SchemeEnterprisePension, models.SchemeEnterpriseMedical} {
		if _, err := r.env.Svc.RegisterUnitScheme(ctx, r.sess.UserID, u.UnitID, units.RegistrationInput{Scheme: sc, RegionCode: "150100"}); err != nil {
			b.Fatal(err)
		}
	}
	return u.UnitID
}

// rosterCSV is a CSV roster of rosterSize people nobody else holds: batch
// picks a block of birth dates of its own.
func rosterCSV(batch int) string {
	var sb strings.Builder
	sb.WriteString("姓名,身份证号码,缴费工资,起始年月\n")
	for i := 0; i < rosterSize; i++ {
		birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, batch*10+i/900)
		fmt.Fprintf(&sb, "职工%c%c,%s,%d.%02d,202611\n", rune(0x4e00+i/100), rune(0x4e00+i%100),
			models.MakeIDNumber("150102", birth, 100+i%900), 6000+i%5000, i%100)
	}
	return sb.String()
}

// importRoster imports one 5,000-row roster into a fresh unit.
func (r *rig) importRoster(b *testing.B) func() {
	unitID := r.newUnit(b)
	csv := rosterCSV(r.n)
	return func() {
		res, err := r.env.Svc.AddEmployeesFile(context.Background(), r.sess.UserID, unitID, strings.NewReader(csv), roster.KindCSV)
		if err != nil || res.Added != rosterSize {
			b.Fatalf("import: %+v %v", res, err)
		}
	}
}

// unitPayablesOf reads the first page of 预处理数据 of a unit of 5,000
// employees: the whole month is assessed on every read.
func (r *rig) unitPayablesOf(b *testing.B) func(*testing.B, int) {
	r.importRoster(b)()
	var unitID string
	if err := r.db.Gorm.Raw("SELECT unit_id FROM unit_employees GROUP BY unit_id ORDER BY COUNT(*) DESC").Limit(1).Scan(&unitID).Error; err != nil {
		b.Fatal(err)
	}
	return func(b *testing.B, n int) {
		for i := 0; i < n; i++ {
			p, err := r.env.Svc.UnitPayables(context.Background(), r.sess.UserID, unitID, "202611", kernel.Page{Size: 20})
			if err != nil || p.Schemes[0].Headcount != rosterSize {
				b.Fatalf("payables: %v", err)
			}
		}
	}
}

func BenchmarkUnitRosterImport5000(b *testing.B) {
	r := newRig(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		op := r.importRoster(b)
		b.StartTimer()
		op()
	}
}

func BenchmarkUnitPayables5000(b *testing.B) {
	r := newRig(b)
	op := r.unitPayablesOf(b)
	b.ResetTimer()
	op(b, b.N)
}
