package servicetest

import (
	"context"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
)

// PaidUnit is a unit with a paid and credited month, made by writing the
// rows the unit engineers' workflows write (binding, declaration, payment
// and crediting are theirs): the unit, its legal representative, one
// declaration with its lines, the paid order and the employees' credited
// records.
type PaidUnit struct {
	Unit     store.UnitRow
	Rep      people.Session
	OrderNo  string
	Period   string
	Pension  int64 // what the order paid for enterprise_pension
	Medical  int64 // and for enterprise_medical
	Employee []string
}

// UnitAccountNo is the account the tests' units are paid back to.
const UnitAccountNo = "6216610200008888888"

// UnitAccount is a bank account in the unit's name.
func (u PaidUnit) UnitAccount() *models.BankAccount {
	return &models.BankAccount{BankName: "中国工商银行", AccountName: u.Unit.Name, AccountNo: UnitAccountNo}
}

// NewPaidUnit binds a unit (code uscc, name) to a verified user of demo
// person repName (logged in as subject) and pays its month 202610 for the
// rep and the given other sessions' persons: enterprise pension
// 1,200.00 yuan each, enterprise medical 500.00 for the rep only.
func NewPaidUnit(t *testing.T, env *Env, subject, repName, uscc, name string, employees ...people.Session) PaidUnit {
	t.Helper()
	p := Person(t, repName)
	return NewPaidUnitFor(t, env, env.LoginVerified(t, subject, p.Name, p.IDNumber), uscc, name, employees...)
}

// NewPaidUnitFor is NewPaidUnit with a verified session as legal representative.
func NewPaidUnitFor(t *testing.T, env *Env, rep people.Session, uscc, name string, employees ...people.Session) PaidUnit {
	t.Helper()
	ctx := context.Background()
	self, err := env.Svc.SelfPerson(ctx, rep.UserID)
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now().UTC()
	u := store.UnitRow{ID: kernel.NewID("unit"), USCC: uscc, Name: name, UnitType: string(models.UnitEnterprise), RegionCode: "150100", CreatedAt: now}
	db := env.DB.Gorm
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Create(&u).Error)
	repKey := u.ID
	must(db.Create(&store.UnitMemberRow{ID: kernel.NewID("um"), UnitID: u.ID, UserID: rep.UserID, PersonID: self.ID, Role: store.UnitRoleLegalRep,
		ActiveKey: store.UnitMemberActiveKey(u.ID, self.ID), RepKey: &repKey, AddedBy: rep.UserID, CreatedAt: now}).Error)
	persons := []string{self.ID}
	for _, e := range employees {
		ep, err := env.Svc.SelfPerson(ctx, e.UserID)
		if err != nil {
			t.Fatal(err)
		}
		persons = append(persons, ep.ID)
	}
	// Numbered as a unit's orders are (U + its time), which the unit's
	// order list pages by.
	pu := PaidUnit{Unit: u, Rep: rep, Period: "202610", OrderNo: kernel.NewNumber("U", now.Add(-time.Hour), 8), Employee: persons}
	decl := store.UnitDeclarationRow{ID: kernel.NewID("ud"), UnitID: u.ID, Period: pu.Period, Status: "paid", OrderNo: pu.OrderNo,
		CreatedBy: rep.UserID, CreatedAt: now, UpdatedAt: now}
	type line struct {
		person string
		scheme models.Scheme
		amount int64
	}
	var lines []line
	for _, id := range persons {
		lines = append(lines, line{id, models.SchemeEnterprisePension, 120000})
		pu.Pension += 120000
	}
	lines = append(lines, line{self.ID, models.SchemeEnterpriseMedical, 50000})
	pu.Medical = 50000
	for _, l := range lines {
		decl.AmountFen += l.amount
		decl.UnitFen += l.amount * 2 / 3
		decl.IndividualFen += l.amount - l.amount*2/3
	}
	decl.Headcount = len(persons)
	must(db.Create(&decl).Error)
	paidAt := now.Add(-time.Hour)
	must(db.Create(&store.OrderRow{OrderNo: pu.OrderNo, PayerUserID: rep.UserID, Channel: "tripartite", AmountFen: decl.AmountFen,
		Status: contrib.OrderPaid, ExpiresAt: now, CreatedAt: paidAt, PaidAt: &paidAt, UpdatedAt: now, UnitID: u.ID,
		UnitDeclarationID: decl.ID, Method: "tripartite"}).Error)
	credited := now.Add(-30 * time.Minute)
	for i, l := range lines {
		ln := store.UnitDeclarationLineRow{ID: kernel.NewID("udl"), DeclarationID: decl.ID, EmployeeID: kernel.NewID("ue"), PersonID: l.person,
			Scheme: string(l.scheme), RegionCode: "150100", BaseFen: 500000, UnitFen: l.amount * 2 / 3, IndividualFen: l.amount - l.amount*2/3,
			AmountFen: l.amount}
		must(db.Create(&ln).Error)
		must(db.Create(&store.RecordRow{ID: kernel.NewID("rec"), PersonID: l.person, Scheme: string(l.scheme), Period: pu.Period,
			PeriodTo: pu.Period, RegionCode: "150100", BaseFen: 500000, AmountFen: l.amount, Status: contrib.RecordCredited, OrderNo: pu.OrderNo,
			PayerUserID: rep.UserID, PaidAt: paidAt, CreditedAt: &credited, TaxVoucherNo: kernel.NewNumber("SP", now, 4+i%2),
			PayerUnitID: u.ID, UnitLineID: ln.ID}).Error)
	}
	return pu
}

// AddUnitOperator makes the session's person an operator (办税员) of the unit.
func AddUnitOperator(t *testing.T, env *Env, unitID string, sess people.Session) {
	t.Helper()
	p, err := env.Svc.SelfPerson(context.Background(), sess.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.DB.Gorm.Create(&store.UnitMemberRow{ID: kernel.NewID("um"), UnitID: unitID, UserID: sess.UserID, PersonID: p.ID,
		Role: store.UnitRoleOperator, ActiveKey: store.UnitMemberActiveKey(unitID, p.ID), AddedBy: sess.UserID,
		CreatedAt: env.Clock.Now().UTC()}).Error; err != nil {
		t.Fatal(err)
	}
}
