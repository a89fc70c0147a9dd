package models

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Anomalies are a queue: every one has an owner who resolves it. The tax
// window owns those of payments (it takes the money in and pays it back);
// an anomaly about a refund (one naming a refund number) belongs to the
// reviewer of that refund's scheme, whose agency decided the refund. The
// auditor reads them all and resolves none.

// AnomalyOwner is the role that works an anomaly. refundDept is the
// department of the refund the anomaly names, "" when it names none. A
// refund number the system does not know (refundDept "" too) stays with
// the tax window, so no anomaly is left without an owner.
func AnomalyOwner(refundDept string) StaffRole {
	switch refundDept {
	case DeptSocialInsurance:
		return RoleSIReviewer
	case DeptMedicalInsurance:
		return RoleMIReviewer
	}
	return RoleTaxWindow
}

// AnomalyResolution is how staff closed an anomaly.
type AnomalyResolution string

// Anomaly resolutions.
const (
	// ResolvedRefunded: the money was paid back to the payer (a refund
	// through the channel or the bank, made outside this queue).
	ResolvedRefunded AnomalyResolution = "refunded"
	// ResolvedBooked: the payment was booked by hand (入账) where the
	// system could not.
	ResolvedBooked AnomalyResolution = "booked"
	// ResolvedNoDiscrepancy: checked with the channel; no money is out of
	// place (a bill corrected later, a duplicate report).
	ResolvedNoDiscrepancy AnomalyResolution = "no_discrepancy"
	// ResolvedOther: anything else; the reason says what.
	ResolvedOther AnomalyResolution = "other"
)

// AnomalyResolutions lists the resolutions staff may choose.
var AnomalyResolutions = []AnomalyResolution{ResolvedRefunded, ResolvedBooked, ResolvedNoDiscrepancy, ResolvedOther}

// Valid reports whether r is a resolution staff may choose.
func (r AnomalyResolution) Valid() bool {
	for _, v := range AnomalyResolutions {
		if v == r {
			return true
		}
	}
	return false
}

// Label is the resolution as the hall reads it; a resolution the system
// wrote itself (already in words) is shown as it is.
func (r AnomalyResolution) Label() string {
	switch r {
	case ResolvedRefunded:
		return "已退还缴费人"
	case ResolvedBooked:
		return "已人工补记入账"
	case ResolvedNoDiscrepancy:
		return "经核实无资金差错"
	case ResolvedOther:
		return "其他（见处理说明）"
	}
	return string(r)
}

// AnomalyReasonMax bounds a resolution's reason, in characters.
const AnomalyReasonMax = 500

// CheckAnomalyResolution validates what staff give when they close an
// anomaly: a resolution from the list and a reason of 2 to 500
// characters (money does not leave the queue without a word on why).
func CheckAnomalyResolution(r AnomalyResolution, reason string) (string, error) {
	if !r.Valid() {
		return "", ErrInvalid.WithReason("resolution 应为 refunded、booked、no_discrepancy 或 other")
	}
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < 2 || n > AnomalyReasonMax {
		return "", ErrInvalid.WithReason("请填写处理说明（2到500个字）")
	}
	return reason, nil
}

var anomalyKindPattern = regexp.MustCompile(`^[a-z][a-z_]{0,39}$`)

// ValidAnomalyKind reports whether k can be a kind (a filter of the queue).
func ValidAnomalyKind(k string) bool { return anomalyKindPattern.MatchString(k) }

// AnomalyKinds are the kinds the system records, with their names in the
// hall; the open-anomaly metric reports each, at zero when none is open.
var AnomalyKinds = []string{"unknown_order", "amount_mismatch", "paid_twice", "paid_not_settled", "missing_in_bill",
	"foreign_notification", "unknown_refund", "refund_amount_mismatch", "refund_exceeds_order", "refund_overpaid"}

// AnomalyKindLabel names a kind for the hall.
func AnomalyKindLabel(kind string) string {
	switch kind {
	case "unknown_order":
		return "渠道有交易但本系统无此订单"
	case "amount_mismatch":
		return "渠道金额与订单金额不符"
	case "paid_twice":
		return "重复缴费"
	case "paid_not_settled":
		return "渠道已收款但本系统未入账"
	case "missing_in_bill":
		return "本系统已收款但渠道账单无此交易"
	case "foreign_notification":
		return "非本商户的支付通知"
	case "unknown_refund":
		return "退款通知的退款单号不存在"
	case "refund_amount_mismatch":
		return "退款金额不符"
	case "refund_exceeds_order":
		return "退款超过订单金额"
	case "refund_overpaid":
		return "多退款项"
	}
	return kind
}

// ErrAnomalyResolved is an anomaly someone already closed.
var ErrAnomalyResolved = newErr(KindConflict, "ANOMALY_RESOLVED", "该异常已处理")
