package counters

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store"
)

// Counter channels: where the money is taken.
const (
	ChannelBankCounter = "bank_counter"
	ChannelYunPOS      = "yun_pos"
	ChannelYunongtong  = "yunongtong"
	ChannelHallPOS     = "hall_pos"
)

// HallName is how the records name the hall as a counter.
const HallName = "办税服务厅"

// Operations a partner transaction id is kept for.
const (
	opOrder   = "order"
	opConfirm = "confirm"
	opReverse = "reverse"
)

// ValidChannel reports whether c is a counter channel.
func ValidChannel(c string) bool {
	switch c {
	case ChannelBankCounter, ChannelYunPOS, ChannelYunongtong, ChannelHallPOS:
		return true
	}
	return false
}

// ChannelName names a counter channel for people.
func ChannelName(c string) string {
	switch c {
	case ChannelBankCounter:
		return "银行柜台"
	case ChannelYunPOS:
		return "云POS"
	case ChannelYunongtong:
		return "裕农通"
	case ChannelHallPOS:
		return "办税服务厅POS"
	}
	return c
}

// Counters is the partner API's workflows.
type Counters struct {
	*kernel.Kernel
	people  *people.People
	contrib *contrib.Contrib
	unitpay *unitpay.UnitPay
	hall    *hall.Hall
}

// New wires the counters on the areas they pay through.
func New(k *kernel.Kernel, p *people.People, c *contrib.Contrib, u *unitpay.UnitPay, h *hall.Hall) *Counters {
	return &Counters{Kernel: k, people: p, contrib: c, unitpay: u, hall: h}
}

// txnPattern is what a partner transaction id or terminal id may be:
// printable ASCII without spaces, so it reads the same in every log and
// reconciliation file.
var txnPattern = regexp.MustCompile(`^[A-Za-z0-9_.:\-]{1,64}$`)

func validTxn(s string) bool { return txnPattern.MatchString(s) }

// requestHash is the hash of a request's meaningful fields, kept with its
// transaction id.
func requestHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	return hex.EncodeToString(h[:])
}

// QueryInput asks what a person owes (id_number + name) or what a unit's
// 银行端凭证 is for (voucher_no).
type QueryInput struct {
	IDNumber  string `json:"id_number"`
	Name      string `json:"name"`
	VoucherNo string `json:"voucher_no"`
}

// QueryResult is what a counter may see: masked names, amounts, periods.
type QueryResult struct {
	Kind             string            `json:"kind"` // person or voucher
	PersonNameMasked string            `json:"person_name_masked,omitempty"`
	IDNumberMasked   string            `json:"id_number_masked,omitempty"`
	Items            []contrib.Payable `json:"items"`
	Voucher          *Voucher          `json:"voucher,omitempty"`
}

// Voucher is a unit's 银行端凭证 as a bank counter sees it.
type Voucher struct {
	VoucherNo      string     `json:"voucher_no"`
	UnitNameMasked string     `json:"unit_name_masked"`
	Period         string     `json:"period"`
	AmountFen      models.Fen `json:"amount_fen"`
	// Status: payable, paid, expired, or closed (the unit chose another
	// way or the order ended).
	Status    string    `json:"status"`
	OrderNo   string    `json:"order_no"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PartnerQueryPayables answers a counter's look-up. A person is verified with
// the identity registry (mismatch → IDENTITY_MISMATCH) and registered on
// first sight, as binding does; every check spends the partner's hourly
// budget, counted in the database while Redis is down.
func (s *Counters) PartnerQueryPayables(ctx context.Context, a kernel.PartnerActor, in QueryInput) (QueryResult, error) {
	if v := strings.TrimSpace(in.VoucherNo); v != "" {
		if in.IDNumber != "" || in.Name != "" {
			return QueryResult{}, models.ErrInvalid.WithReason("voucher_no 与 id_number/name 只能提供其一")
		}
		if err := s.voucherBudget(ctx, a); err != nil {
			s.auditPartner(ctx, a, "partner.query", "voucher", auditRef(v), kernel.AuditDenied, errCode(err))
			return QueryResult{}, err
		}
		vo, err := s.voucher(ctx, v)
		if err != nil {
			s.auditPartner(ctx, a, "partner.query", "voucher", auditRef(v), kernel.AuditFailed, errCode(err))
			return QueryResult{}, err
		}
		s.auditPartner(ctx, a, "partner.query", "voucher", v, kernel.AuditOK, "")
		return QueryResult{Kind: "voucher", Items: []contrib.Payable{}, Voucher: &vo}, nil
	}
	p, err := s.checkedPerson(ctx, "idcheck:partner:"+a.PartnerID, s.Opt.PartnerIdentityChecks, in.Name, in.IDNumber)
	if err != nil {
		s.auditPartner(ctx, a, "partner.query", "person", "", kernel.AuditFailed, errCode(err))
		return QueryResult{}, err
	}
	items, err := s.contrib.CounterPayables(ctx, p)
	if err != nil {
		return QueryResult{}, err
	}
	s.auditPartner(ctx, a, "partner.query", "person", p.ID, kernel.AuditOK, "")
	return QueryResult{Kind: "person", PersonNameMasked: models.MaskName(p.Name), IDNumberMasked: models.MaskIDNumber(p.IDNumber), Items: items}, nil
}

// voucherBudget spends one of the partner's hourly voucher look-ups. A
// voucher number is BV, the second it was issued and six random digits:
// about a million guesses per issuing second, which an unmetered partner
// key (a leaked one, a rogue terminal) could sweep, each hit answering
// with a unit, its amount and its order, and letting the partner attach
// the voucher to itself. Every look-up, hit or miss, spends the budget
// (counted in the database while Redis is down), as a person's does.
func (s *Counters) voucherBudget(ctx context.Context, a kernel.PartnerActor) error {
	err := s.RateLimit(ctx, "voucher:partner:"+a.PartnerID, s.Opt.PartnerIdentityChecks, time.Hour, kernel.CountInDB)
	if errors.Is(err, models.ErrRateLimited) {
		return models.ErrRateLimited.WithReason("凭证查询次数过多，请稍后再试")
	}
	return err
}

// auditRef is what a partner typed, fit for the audit log's target id:
// kept when it has the shape of a reference, replaced when not.
func auditRef(v string) string {
	if validTxn(v) {
		return v
	}
	return "(invalid)"
}

// checkedPerson verifies a name and ID number for a counter, spending the
// budget of bucket (a partner's, a clerk's) instead of a user's or an
// address's.
func (s *Counters) checkedPerson(ctx context.Context, bucket string, limit int, name, idNumber string) (kernel.Person, error) {
	if strings.TrimSpace(name) == "" || strings.TrimSpace(idNumber) == "" {
		return kernel.Person{}, models.ErrInvalid.WithReason("请提供姓名 name 和身份证号码 id_number")
	}
	if _, err := models.ParseIDNumber(strings.TrimSpace(idNumber)); err != nil {
		return kernel.Person{}, err
	}
	if err := s.RateLimit(ctx, bucket, limit, time.Hour, kernel.CountInDB); err != nil {
		if errors.Is(err, models.ErrRateLimited) {
			return kernel.Person{}, models.ErrRateLimited.WithReason("姓名与身份证号码核验次数过多，请稍后再试")
		}
		return kernel.Person{}, err
	}
	return s.people.CheckedPerson(kernel.WithClientAddr(ctx, ""), "", name, idNumber, "")
}

func (s *Counters) voucher(ctx context.Context, voucherNo string) (Voucher, error) {
	var v store.BankVoucherRow
	err := s.Conn(ctx).Where("voucher_no = ?", voucherNo).Take(&v).Error
	if kernel.IsNotFound(err) {
		return Voucher{}, models.ErrNotFound
	}
	if err != nil {
		return Voucher{}, kernel.Internal("load voucher", err)
	}
	var o store.OrderRow
	if err := s.Conn(ctx).Where("order_no = ?", v.OrderNo).Take(&o).Error; err != nil {
		return Voucher{}, kernel.Internal("load voucher order", err)
	}
	var u store.UnitRow
	if err := s.Conn(ctx).Select("name").Where("id = ?", v.UnitID).Take(&u).Error; err != nil {
		return Voucher{}, kernel.Internal("load unit", err)
	}
	var d store.UnitDeclarationRow
	if err := s.Conn(ctx).Select("period").Where("id = ?", v.UnitDeclarationID).Take(&d).Error; err != nil {
		return Voucher{}, kernel.Internal("load unit declaration", err)
	}
	status := "payable"
	switch {
	case o.Status == contrib.OrderPaid || o.Status == contrib.OrderPartiallyRefunded || o.Status == contrib.OrderRefunded:
		status = "paid"
	case o.Status == contrib.OrderReversed:
		status = "reversed"
	case s.Now().After(v.ExpiresAt):
		status = "expired"
	case o.Status != contrib.OrderCreated && o.Status != contrib.OrderPaying:
		status = "closed"
	}
	return Voucher{VoucherNo: v.VoucherNo, UnitNameMasked: models.MaskName(u.Name), Period: d.Period, AmountFen: models.Fen(v.AmountFen),
		Status: status, OrderNo: v.OrderNo, ExpiresAt: v.ExpiresAt}, nil
}

// auditPartner records a partner call in the audit log (logged, not
// returned, when it fails: the answer does not depend on it).
func (s *Counters) auditPartner(ctx context.Context, a kernel.PartnerActor, action, kind, id, outcome, detail string) {
	if err := s.AuditNow(ctx, partnerStaff(a), kernel.AuditNote{Action: action, TargetKind: kind, TargetID: id, Outcome: outcome, Detail: detail}); err != nil {
		s.Log.ErrorContext(ctx, "partner audit not recorded", "action", action, "partner_id", a.PartnerID, "err", err)
	}
}

// partnerStaff is a partner as the audit log's actor: its id and key.
func partnerStaff(a kernel.PartnerActor) kernel.StaffActor {
	return kernel.StaffActor{StaffID: "partner:" + a.PartnerID, Username: kernel.Truncate(a.Name+"/"+a.KeyID, 64), Role: "partner", RequestMeta: a.RequestMeta}
}

// errCode is an error's code for the audit log.
func errCode(err error) string {
	if e, ok := models.AsError(err); ok {
		return e.Code
	}
	return "INTERNAL"
}
