package servicetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/channels/sandbox"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
)

// UnitFixture is a bound unit with a confirmed, unpaid declaration of
// three employees, written straight into the unit tables so the payment
// tests do not depend on how declarations are built.
type UnitFixture struct {
	Rep       people.Session // the legal representative
	UnitID    string
	Unit      store.UnitRow
	Decl      store.UnitDeclarationRow
	Lines     []store.UnitDeclarationLineRow
	Employees []people.Session // one per line, to read their own records
	// AccountNo is the unit's account at the fake bank, held in its name.
	AccountNo string
}

// UnitPeriod is the month the fixture's declaration is for.
const UnitPeriod = "202610"

// NewUnitFixture binds the demo enterprise to 张三明 and declares October
// 2026 for 王建国 (pension and medical), 赵海峰 and 刘建华 (pension). The
// fake bank delivers debit notices to the service's notify workflow.
func NewUnitFixture(t *testing.T, env *Env) *UnitFixture {
	t.Helper()
	ctx := context.Background()
	f := &UnitFixture{AccountNo: "6222020200112233"}
	rep := Person(t, "张三明")
	f.Rep = env.LoginVerified(t, "unit-rep", rep.Name, rep.IDNumber)
	repPerson, err := env.Svc.SelfPerson(ctx, f.Rep.UserID)
	if err != nil {
		t.Fatal(err)
	}
	du := sandbox.DemoUnits()[0]
	now := env.Clock.Now().UTC()
	f.Unit = store.UnitRow{ID: kernel.NewID("unit"), USCC: du.USCC, Name: du.Name, UnitType: string(du.Type), RegionCode: du.Region, CreatedAt: now}
	f.UnitID = f.Unit.ID
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(env.DB.Gorm.Create(&f.Unit).Error)
	must(env.DB.Gorm.Create(&store.UnitMemberRow{ID: kernel.NewID("um"), UnitID: f.UnitID, UserID: f.Rep.UserID, PersonID: repPerson.ID,
		Role: store.UnitRoleLegalRep, ActiveKey: store.UnitMemberActiveKey(f.UnitID, repPerson.ID), RepKey: store.UnitMemberRepKey(f.UnitID, store.UnitRoleLegalRep),
		AddedBy: f.Rep.UserID, CreatedAt: now}).Error)
	for i, sc := range []models.Scheme{models.SchemeEnterprisePension, models.SchemeEnterpriseMedical} {
		must(env.DB.Gorm.Create(&store.UnitRegistrationRow{ID: kernel.NewID("ur"), UnitID: f.UnitID, Scheme: string(sc), RegionCode: du.Region,
			ReceiptNo: "RCPT" + f.UnitID + string(rune('0'+i)), RegisteredBy: f.Rep.UserID, RegisteredAt: now}).Error)
	}
	f.Decl = store.UnitDeclarationRow{ID: kernel.NewID("ud"), UnitID: f.UnitID, Period: UnitPeriod, Status: "open", CreatedBy: f.Rep.UserID, CreatedAt: now, UpdatedAt: now}
	type emp struct {
		name, subject string
		schemes       []models.Scheme
	}
	for i, e := range []emp{{"王建国", "emp-1", []models.Scheme{models.SchemeEnterprisePension, models.SchemeEnterpriseMedical}},
		{"赵海峰", "emp-2", []models.Scheme{models.SchemeEnterprisePension}}, {"刘建华", "emp-3", []models.Scheme{models.SchemeEnterprisePension}}} {
		p := Person(t, e.name)
		sess := env.LoginVerified(t, e.subject, p.Name, p.IDNumber)
		person, err := env.Svc.SelfPerson(ctx, sess.UserID)
		must(err)
		f.Employees = append(f.Employees, sess)
		for _, sc := range e.schemes {
			base := int64(600000 + 100000*i)
			unitPart, indPart := base*16/100, base*8/100
			if sc == models.SchemeEnterpriseMedical {
				unitPart, indPart = base*8/100, base*2/100
			}
			eid := kernel.NewID("ue")
			must(env.DB.Gorm.Create(&store.UnitEmployeeRow{ID: eid, UnitID: f.UnitID, Scheme: string(sc), PersonID: person.ID, WageFen: base,
				FromPeriod: "202601", OpenKey: store.UnitEmployeeOpenKey(person.ID, string(sc)), CreatedBy: f.Rep.UserID, CreatedAt: now}).Error)
			l := store.UnitDeclarationLineRow{ID: kernel.NewID("udl"), DeclarationID: f.Decl.ID, EmployeeID: eid, PersonID: person.ID, Scheme: string(sc),
				RegionCode: du.Region, BaseFen: base, UnitFen: unitPart, IndividualFen: indPart, AmountFen: unitPart + indPart}
			f.Lines = append(f.Lines, l)
			f.Decl.AmountFen += l.AmountFen
			f.Decl.UnitFen += l.UnitFen
			f.Decl.IndividualFen += l.IndividualFen
		}
		f.Decl.Headcount++
	}
	must(env.DB.Gorm.Create(&f.Decl).Error)
	for i := range f.Lines {
		must(env.DB.Gorm.Create(&f.Lines[i]).Error)
	}
	env.Bank.SetAccount(bankfake.Account{No: f.AccountNo, Name: f.Unit.Name, USCC: f.Unit.USCC, Balance: 100_000_000})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.Svc.HandleBankDebitNotice(r.Context(), w, r)
	}))
	t.Cleanup(srv.Close)
	env.Bank.SetNotifyURL(srv.URL)
	return f
}
