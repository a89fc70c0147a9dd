package refunds

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// A refund belongs to the money's owners (issue 8): the person it was paid
// for, a proven guardian of that person while a minor, and the payer of the
// order. Only they may ask it back (an adult person, a proven guardian, or
// the payer for what they paid), every one of them sees the application and
// is told about each step, and an application filed by someone other than
// the person or a proven guardian can be withdrawn by any of them, so it
// never locks the owner out.

// Applicant roles: who filed an application in relation to the money.
const (
	RolePerson   = "person"   // the (adult) person the money was paid for
	RoleGuardian = "guardian" // a proven guardian of the (minor) person
	RolePayer    = "payer"    // the payer of every order it asks back
	// RoleSystem is an automatic refund of an order paid that could not be
	// booked: filed by nobody, back to its payer by the original route.
	RoleSystem = "system"
	// RoleOther is an applicant who is none of these: applications older
	// than the rule. Hall staff review them first.
	RoleOther = "other"
)

// refundApplicant resolves the person a refund application names and the
// caller's role: self (an adult), a proven guardian of a minor, or else a
// payer, who may ask back only what they paid.
func (s *Refunds) refundApplicant(ctx context.Context, userID string, ref people.PersonRef) (kernel.Person, string, error) {
	self, err := s.SelfPerson(ctx, userID)
	if err != nil {
		return kernel.Person{}, "", err
	}
	var p kernel.Person
	switch {
	case ref.Self:
		p = self
	case ref.MemberID != "":
		var fm store.FamilyRow
		if err := s.Conn(ctx).Where("id = ? AND user_id = ?", ref.MemberID, userID).Take(&fm).Error; err != nil {
			if kernel.IsNotFound(err) {
				return kernel.Person{}, "", models.ErrNotFound
			}
			return kernel.Person{}, "", kernel.Internal("load member", err)
		}
		if p, err = s.Person(ctx, fm.PersonID); err != nil {
			return kernel.Person{}, "", err
		}
	default:
		// A payer who paid by name and ID number (代缴) names the person
		// the same way; it proves only that they may pay.
		if p, err = s.people.ResolveForPaying(ctx, userID, ref); err != nil {
			return kernel.Person{}, "", err
		}
	}
	if p.ID == self.ID {
		if !p.Parsed.MinorAt(s.Now()) {
			return p, RolePerson, nil
		}
		return p, RolePayer, nil
	}
	ok, err := s.people.ProvenGuardian(ctx, self.ID, p)
	if err != nil {
		return kernel.Person{}, "", err
	}
	if ok {
		return p, RoleGuardian, nil
	}
	return p, RolePayer, nil
}

// refundPayerNames are the real names a bank payout of these orders may
// go to besides the person's: a payer's, only when that payer paid every
// one of them. One account takes the whole application, so a payer's
// account would otherwise receive the money other payers paid.
func (s *Refunds) refundPayerNames(ctx context.Context, orderNos []string) (map[string]bool, error) {
	names := map[string]bool{}
	var payers []string
	if err := s.Conn(ctx).Model(&store.OrderRow{}).Where("order_no IN ?", orderNos).Distinct().Pluck("payer_user_id", &payers).Error; err != nil {
		return nil, kernel.Internal("refund payers", err)
	}
	if len(payers) != 1 {
		return names, nil
	}
	u, err := s.User(ctx, payers[0])
	if err != nil || u.PersonID == nil {
		return names, nil
	}
	p, err := s.Person(ctx, *u.PersonID)
	if err != nil {
		return nil, err
	}
	names[p.Name] = true
	return names, nil
}

// CheckRefundAccount checks an account money may be paid to: in the name
// of the person or of the payer of all the orders, and held in that name
// as the bank's account-name verification says. Without the verification
// the account is refused: nobody's word is taken for whose account it is.
func (s *Refunds) CheckRefundAccount(ctx context.Context, p kernel.Person, orderNos []string, b models.BankAccount) error {
	names, err := s.refundPayerNames(ctx, orderNos)
	if err != nil {
		return err
	}
	names[p.Name] = true
	if !names[b.AccountName] {
		return models.ErrBankAccountInvalid.WithReason(accountNameRule)
	}
	v, ok := s.Bank.(models.BankAccountVerifier)
	if !ok {
		return models.ErrUnavailable.WithReason("银行账户核验暂不可用")
	}
	if err := v.VerifyAccountName(ctx, b.AccountName, b.AccountNo); err != nil {
		if errors.Is(err, models.ErrBankAccountName) {
			return models.ErrBankAccountName.WithReason("开户银行核验：该账户的户名与所填户名不一致")
		}
		return err
	}
	return nil
}

// RefundOrderNos are the orders an application asks money back from.
func RefundOrderNos(db *gorm.DB, refundNo string) ([]string, error) {
	var nos []string
	err := db.Model(&store.RefundItemRow{}).Where("refund_no = ?", refundNo).Distinct().Order("order_no").Pluck("order_no", &nos).Error
	return nos, err
}

// refundParties are the users an application concerns besides its
// applicant: the payers of its orders, the accounts of the person, and
// those of the person's proven guardians while a minor.
func (s *Refunds) refundParties(db *gorm.DB, r store.RefundRow) ([]string, error) {
	if r.UnitID != "" {
		return unitParties(db, r.UnitID)
	}
	seen := map[string]bool{}
	var out []string
	add := func(ids []string) {
		for _, id := range ids {
			if id != "" && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	orderNos, err := RefundOrderNos(db, r.RefundNo)
	if err != nil {
		return nil, err
	}
	var payers []string
	if len(orderNos) > 0 {
		if err := db.Model(&store.OrderRow{}).Where("order_no IN ?", orderNos).Distinct().Pluck("payer_user_id", &payers).Error; err != nil {
			return nil, err
		}
	}
	add(payers)
	persons := []string{r.PersonID}
	var pr store.PersonRow
	if err := db.Where("id = ?", r.PersonID).Take(&pr).Error; err != nil {
		return nil, err
	}
	p, err := s.OpenPerson(pr)
	if err != nil {
		return nil, err
	}
	if p.Parsed.MinorAt(s.Now()) {
		var gs []string
		if err := db.Model(&store.GuardianshipRow{}).Where("minor_person_id = ? AND revoked_at IS NULL", r.PersonID).
			Distinct().Pluck("guardian_person_id", &gs).Error; err != nil {
			return nil, err
		}
		persons = append(persons, gs...)
	}
	var users []string
	if err := db.Model(&store.UserRow{}).Where("person_id IN ?", persons).Order("id").Pluck("id", &users).Error; err != nil {
		return nil, err
	}
	add(users)
	sort.Strings(out)
	return out, nil
}

// mayReadRefund reports whether u is the applicant or one of the money's
// owners.
func (s *Refunds) mayReadRefund(ctx context.Context, u store.UserRow, r store.RefundRow) (bool, error) {
	// A unit's application is read by those acting for the unit now, not
	// by a member who filed it and has since been removed.
	if r.ApplicantUserID == u.ID && r.UnitID == "" {
		return true, nil
	}
	parties, err := s.refundParties(s.Conn(ctx), r)
	if err != nil {
		return false, kernel.Internal("refund parties", err)
	}
	for _, id := range parties {
		if id == u.ID {
			return true, nil
		}
	}
	return false, nil
}

// applicantRole is the role an application was filed in; applications
// older than the rule are worked out now, and are "other" unless their
// applicant is the person or a proven guardian.
func (s *Refunds) applicantRole(ctx context.Context, r store.RefundRow) (string, error) {
	if r.ApplicantRole != "" {
		return r.ApplicantRole, nil
	}
	u, err := s.User(ctx, r.ApplicantUserID)
	if err != nil || u.PersonID == nil {
		return RoleOther, nil
	}
	p, err := s.Person(ctx, r.PersonID)
	if err != nil {
		return "", err
	}
	if *u.PersonID == p.ID {
		return RolePerson, nil
	}
	if ok, err := s.people.ProvenGuardian(ctx, *u.PersonID, p); err != nil || ok {
		return RoleGuardian, err
	}
	return RoleOther, nil
}

// reviewFirst reports whether hall staff should look at an application
// before the others: its applicant is neither the person nor a proven
// guardian.
func reviewFirst(role string) bool {
	return role != RolePerson && role != RoleGuardian && role != RoleSystem && role != RoleUnit
}

// applicantWarnings are what the hall is told about who applied.
func applicantWarnings(role string) []string {
	switch role {
	case RolePerson:
		return []string{}
	case RoleGuardian:
		return []string{"申请人为参保人（未成年人）经核验的监护人"}
	case RoleSystem:
		return []string{"系统自动退款：订单付款时无法入账（重复缴费等），款项原路退回缴费人"}
	case RoleUnit:
		// The seed's time limit for a unit's refund (catalog tax_unit_refund)
		// is 即时办结, where an individual's is 即时受理: the hall is told.
		return []string{"申请人为缴费单位（由其法定代表人或办税员提交），退费只退至本单位名下账户",
			"办理时限：即时办结。请当场受理或一次性告知不予受理的原因，受理后即转社保（医保）复核并办理退付"}
	case RolePayer:
		return []string{"申请人是缴费人，不是参保人本人或其监护人：参保人已收到通知并可撤回，请核实参保人是否知情"}
	}
	return []string{"注意：申请人既不是缴费人，也不是参保人本人或经核验的监护人，请重点核实，必要时不予受理"}
}

// ownersMayWithdraw reports whether the money's owners may withdraw an
// application someone else filed: when its applicant is neither the person
// nor, still, a proven guardian. A guardian's standing ends when the child
// comes of age or a consent is revoked; their open application must not
// then lock the now-adult person or the remaining guardians out.
func (s *Refunds) ownersMayWithdraw(ctx context.Context, r store.RefundRow) (bool, error) {
	role, err := s.applicantRole(ctx, r)
	if role == RoleUnit {
		return true, err // everyone acting for the unit acts for it alike
	}
	if err != nil || role != RoleGuardian {
		return reviewFirst(role), err
	}
	u, err := s.User(ctx, r.ApplicantUserID)
	if err != nil || u.PersonID == nil {
		return err == nil, err
	}
	p, err := s.Person(ctx, r.PersonID)
	if err != nil {
		return false, err
	}
	still, err := s.people.ProvenGuardian(ctx, *u.PersonID, p)
	return !still, err
}

// withdrawable are the statuses before any money moves.
var withdrawable = []models.RefundStatus{models.RefundSubmitted, models.RefundAccepted, models.RefundForwarded, models.RefundApproved}

// WithdrawRefund withdraws an application (撤回) before money moves. Its
// applicant may always; the payer, the person and the person's proven
// guardians may when the applicant is none of the person and a proven
// guardian, so nobody else's application can lock them out. Anyone else
// gets NOT_FOUND.
func (s *Refunds) WithdrawRefund(ctx context.Context, userID, refundNo string) (Refund, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return Refund{}, err
	}
	r, err := s.LoadRefund(ctx, refundNo)
	if err != nil {
		return Refund{}, err
	}
	ok, err := s.mayReadRefund(ctx, u, r)
	if err != nil {
		return Refund{}, err
	}
	if !ok {
		return Refund{}, models.ErrNotFound
	}
	note := "申请人撤回申请"
	if r.ApplicantUserID != userID {
		ok, err := s.ownersMayWithdraw(ctx, r)
		if err != nil {
			return Refund{}, err
		}
		if !ok {
			return Refund{}, models.ErrRefundWithdraw
		}
		note = "费款所有人（缴费人、参保人或其监护人）撤回他人提出的申请"
	}
	from := models.RefundStatus(r.Status)
	open := false
	for _, st := range withdrawable {
		open = open || st == from
	}
	if !open {
		return Refund{}, models.ErrRefundState.WithReason("当前状态：" + from.Label() + "，已不能撤回")
	}
	var pushes []kernel.PendingPush
	moved := false
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		pushes, moved = nil, false
		ok, err := s.MoveRefund(tx, r, from, models.RefundWithdrawn, nil)
		if err != nil || !ok {
			return err
		}
		moved = true
		if from != models.RefundSubmitted {
			// Accepted applications hold their records as refunding.
			if err := s.restoreRecords(tx, r.RefundNo); err != nil {
				return err
			}
		}
		if err := s.AddEvent(tx, r.RefundNo, store.RefundEventRow{Status: string(models.RefundWithdrawn), ActorKind: actorApplicant,
			ActorID: userID, Note: note}); err != nil {
			return err
		}
		pp, err := s.RefundMessage(tx, r, models.RefundWithdrawn, nil, "")
		pushes = append(pushes, pp)
		return err
	})
	if err != nil {
		return Refund{}, kernel.Internal("withdraw refund", err)
	}
	if !moved {
		cur, err := s.LoadRefund(ctx, refundNo)
		if err != nil {
			return Refund{}, err
		}
		return Refund{}, models.ErrRefundState.WithReason("当前状态：" + models.RefundStatus(cur.Status).Label() + "，已不能撤回")
	}
	s.Push(ctx, pushes)
	s.Log.InfoContext(ctx, "refund withdrawn", "refund_no", r.RefundNo, "by_applicant", r.ApplicantUserID == userID)
	return s.GetRefund(ctx, userID, refundNo)
}

// partyMessageBody is what the money's owners who did not apply read: the
// applicant's text, about "an application concerning your payment", and,
// when it is filed, who filed it and that they may withdraw it.
func partyMessageBody(body string, to models.RefundStatus, applicantMasked string, canWithdraw bool) string {
	body = strings.Replace(body, "您的退费申请", "涉及您缴费的退费申请", 1)
	if to == models.RefundSubmitted {
		body += fmt.Sprintf("申请人：%s。", applicantMasked)
		if canWithdraw {
			body += "如您不知情，可在退费详情中撤回该申请。"
		}
	}
	return body
}
