package models

import (
	"fmt"
	"strings"
	"time"
)

// BankVoucher is a 银行端缴税凭证 as printed: the slip a unit takes to the
// counter of any partner bank, which finds the amount due by VoucherNo
// (partnerQueryPayables {voucher_no}) and takes exactly TotalFen. It is the
// unit's own document, so the unit's full name and code are printed.
type BankVoucher struct {
	VoucherNo  string // ASCII letters and digits; printed and encoded in the QR code
	UnitName   string
	UnitUSCC   string // 统一社会信用代码
	Authority  string // the collecting tax bureau (AuthorityTax)
	PeriodFrom string // YYYYMM
	PeriodTo   string // YYYYMM
	Lines      []BankVoucherLine
	TotalFen   Fen       // sum of the lines' AmountFen: what the bank collects
	IssuedAt   time.Time // when the voucher was issued
	ExpiresAt  time.Time // the last instant a bank may collect it
}

// BankVoucherLine is one scheme's month of the declaration the voucher
// pays: SchemeName is printed (Scheme is its code), and AmountFen is
// UnitFen + PersonalFen.
type BankVoucherLine struct {
	Scheme      string
	SchemeName  string
	Period      string // YYYYMM
	Headcount   int
	UnitFen     Fen
	PersonalFen Fen
	AmountFen   Fen
}

// Validate checks that v is a voucher we are willing to print: a slip a
// bank collects money on must add up. Every failure is a bug in the caller
// and wraps ErrInternal.
func (v BankVoucher) Validate() error {
	bug := func(format string, args ...any) error {
		return fmt.Errorf("%w: bank voucher %s: %s", ErrInternal, v.VoucherNo, fmt.Sprintf(format, args...))
	}
	switch {
	case !validVoucherNo(v.VoucherNo):
		return bug("number %q", v.VoucherNo)
	case strings.TrimSpace(v.UnitName) == "":
		return bug("no unit name")
	case !validUSCC(v.UnitUSCC):
		return bug("unit code %q", v.UnitUSCC)
	case v.Authority == "":
		return bug("no authority")
	case !validPeriod(v.PeriodFrom) || !validPeriod(v.PeriodTo) || v.PeriodFrom > v.PeriodTo:
		return bug("period range %q–%q", v.PeriodFrom, v.PeriodTo)
	case v.IssuedAt.IsZero() || !v.ExpiresAt.After(v.IssuedAt):
		return bug("issued %s, expires %s", v.IssuedAt, v.ExpiresAt)
	case len(v.Lines) == 0:
		return bug("no lines")
	}
	var sum Fen
	for i, l := range v.Lines {
		switch {
		case l.Scheme == "" || strings.TrimSpace(l.SchemeName) == "":
			return bug("line %d: no scheme", i+1)
		case !validPeriod(l.Period) || l.Period < v.PeriodFrom || l.Period > v.PeriodTo:
			return bug("line %d: period %q outside %s–%s", i+1, l.Period, v.PeriodFrom, v.PeriodTo)
		case l.Headcount <= 0:
			return bug("line %d: headcount %d", i+1, l.Headcount)
		case l.AmountFen <= 0 || l.UnitFen < 0 || l.PersonalFen < 0 || l.UnitFen+l.PersonalFen != l.AmountFen:
			return bug("line %d: unit %d + personal %d, amount %d", i+1, l.UnitFen, l.PersonalFen, l.AmountFen)
		}
		sum += l.AmountFen
	}
	if sum != v.TotalFen {
		return bug("total %d fen, lines sum to %d", v.TotalFen, sum)
	}
	return nil
}

// validVoucherNo accepts what a bank teller types or scans: 6 to 32 ASCII
// letters and digits.
func validVoucherNo(no string) bool {
	if len(no) < 6 || len(no) > 32 {
		return false
	}
	for i := 0; i < len(no); i++ {
		b := no[i]
		if (b < '0' || b > '9') && (b < 'A' || b > 'Z') && (b < 'a' || b > 'z') {
			return false
		}
	}
	return true
}
