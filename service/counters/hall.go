package counters

import (
	"context"
	"strings"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// HallLookupInput names a person at the hall's window.
type HallLookupInput struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
}

// HallPerson is a person as the window sees them: masked, with what they
// owe (the counter's view of the payables).
type HallPerson struct {
	PersonNameMasked string            `json:"person_name_masked"`
	IDNumberMasked   string            `json:"id_number_masked"`
	Items            []contrib.Payable `json:"items"`
}

// HallLookupPerson verifies a name and ID number the payer gives at the
// window (spending the clerk's hourly budget), registers the person on
// first sight and lists their payables. Only the tax window may; every
// look-up is audited before anything is shown.
func (s *Counters) HallLookupPerson(ctx context.Context, a kernel.StaffActor, in HallLookupInput) (HallPerson, error) {
	if err := s.hall.Require(ctx, a, models.PermHallPayment, "hall.lookup", "person", ""); err != nil {
		return HallPerson{}, err
	}
	p, err := s.checkedPerson(ctx, "idcheck:staff:"+a.StaffID, s.Opt.HallIdentityChecks, in.Name, in.IDNumber)
	if err != nil {
		if aerr := s.AuditNow(ctx, a, kernel.AuditNote{Action: "hall.lookup", TargetKind: "person", Outcome: kernel.AuditFailed, Detail: errCode(err)}); aerr != nil {
			return HallPerson{}, aerr
		}
		return HallPerson{}, err
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "hall.lookup", TargetKind: "person", TargetID: p.ID, Outcome: kernel.AuditOK}); err != nil {
		return HallPerson{}, err
	}
	items, err := s.contrib.CounterPayables(ctx, p)
	if err != nil {
		return HallPerson{}, err
	}
	return HallPerson{PersonNameMasked: models.MaskName(p.Name), IDNumberMasked: models.MaskIDNumber(p.IDNumber), Items: items}, nil
}

// Payer consent at the hall.
const (
	RelationSelf   = "self"
	RelationFamily = "family"
	RelationOther  = "other"

	ConsentSignature = "signature"
	ConsentVerbal    = "verbal"
)

// ConsentInput is the payer's consent to pay at the hall: who pays, how
// they are related to the person, and how they consented.
type ConsentInput struct {
	PayerName string `json:"payer_name"`
	Relation  string `json:"relation"`
	Method    string `json:"method"`
}

// HallPaymentInput declares a person's months at the window and opens a
// payment at the hall's POS.
type HallPaymentInput struct {
	IDNumber   string       `json:"id_number"`
	Name       string       `json:"name"`
	PayableID  string       `json:"payable_id"`
	OptionCode string       `json:"option_code"`
	PeriodFrom string       `json:"period_from"`
	PeriodTo   string       `json:"period_to"`
	Consent    ConsentInput `json:"consent"`
}

// HallCreatePayment declares on the person's behalf and opens a hall_pos
// order awaiting the hall's POS, which confirms it through the partner API
// (partnerConfirmOrder). The payer's consent is kept with the order (the
// payer's name sealed) and the whole is audited. Only the tax window may.
func (s *Counters) HallCreatePayment(ctx context.Context, a kernel.StaffActor, in HallPaymentInput) (Order, error) {
	if err := s.hall.Require(ctx, a, models.PermHallPayment, "hall.payment", "payable", in.PayableID); err != nil {
		return Order{}, err
	}
	c := in.Consent
	payer, err := models.CheckPersonName(strings.TrimSpace(c.PayerName))
	switch {
	case err != nil:
		return Order{}, models.ErrInvalid.WithReason("请填写缴费人姓名 consent.payer_name")
	case c.Relation != RelationSelf && c.Relation != RelationFamily && c.Relation != RelationOther:
		return Order{}, models.ErrInvalid.WithReason("consent.relation 须为 self、family 或 other")
	case c.Method != ConsentSignature && c.Method != ConsentVerbal:
		return Order{}, models.ErrInvalid.WithReason("consent.method 须为 signature 或 verbal")
	}
	p, err := s.checkedPerson(ctx, "idcheck:staff:"+a.StaffID, s.Opt.HallIdentityChecks, in.Name, in.IDNumber)
	if err != nil {
		// A refused check is audited here as at the look-up: this route
		// checks a name against an ID number too.
		if aerr := s.AuditNow(ctx, a, kernel.AuditNote{Action: "hall.payment", TargetKind: "person", Outcome: kernel.AuditFailed, Detail: errCode(err)}); aerr != nil {
			return Order{}, aerr
		}
		return Order{}, err
	}
	if c.Relation == RelationSelf && payer != p.Name {
		return Order{}, models.ErrInvalid.WithReason("缴费人为本人时，姓名须与参保人一致")
	}
	sealed, err := s.Seal(payer)
	if err != nil {
		return Order{}, err
	}
	d, _, err := s.contrib.DeclareAtCounter(ctx, p.ID, contrib.DeclareInput{PayableID: in.PayableID, OptionCode: in.OptionCode,
		PeriodFrom: in.PeriodFrom, PeriodTo: in.PeriodTo}, kernel.Truncate("staff:"+a.StaffID, 40))
	if err != nil {
		if aerr := s.AuditNow(ctx, a, kernel.AuditNote{Action: "hall.payment", TargetKind: "person", TargetID: p.ID, Outcome: kernel.AuditFailed, Detail: errCode(err)}); aerr != nil {
			return Order{}, aerr
		}
		return Order{}, err
	}
	now := s.Now()
	row := store.OrderRow{OrderNo: kernel.NewNumber("LB", now, 10), Channel: ChannelHallPOS, CounterChannel: ChannelHallPOS, PartnerName: HallName}
	o, err := s.contrib.OpenCounterOrder(ctx, d.DeclarationID, row, func(tx *gorm.DB) error {
		if err := tx.Create(&store.HallConsentRow{OrderNo: row.OrderNo, PersonID: p.ID, StaffID: a.StaffID, PayerNameSealed: sealed,
			Relation: c.Relation, Method: c.Method, CreatedAt: now}).Error; err != nil {
			return err
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "hall.payment", TargetKind: "order", TargetID: row.OrderNo, Outcome: kernel.AuditOK,
			Detail: "代为申报并发起办税服务厅POS收款 " + models.Fen(d.AmountFen).Yuan() + " 元，缴费人关系 " + c.Relation + "，同意方式 " + c.Method})
	})
	if err != nil {
		if rerr := s.contrib.ReleaseDeclaration(ctx, d.DeclarationID); rerr != nil {
			s.Log.ErrorContext(ctx, "hall declaration not released; it expires by itself", "declaration_id", d.DeclarationID, "err", rerr)
		}
		return Order{}, kernel.Internal("open hall order", err)
	}
	return s.view(ctx, o)
}
