package models

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The rules that turn a PolicyYear into what a person can choose and pay.
// Amounts are integer fen and rates basis points; the one rounding step is
// Fen.MulBP (half up to the fen), applied once per amount so a monthly fee
// is the same wherever it is computed.

// Option codes. Grade and base codes carry their number so a declaration
// records exactly what was chosen, even after the policy file changes.
const (
	optGradePrefix     = "grade_" // flexible pension: percent of the average wage; resident pension: yuan per year
	optBasePrefix      = "base_"  // flexible pension: a custom base in whole yuan
	optResidentMedical = "standard"
)

// FlexiblePensionOptions lists the standard base grades (档次) of a year.
// A grade's base is the percentage of the prior-year average wage rounded
// half up to whole yuan, then clamped into the published limits: the
// published 60% and 300% figures are authoritative, so grade_60 is exactly
// BaseMinFen (60% of 8,179 = 4,907.40 rounds to the published 4,907) and
// grade_300 exactly BaseMaxFen.
func FlexiblePensionOptions(p PolicyYear) []PayOption {
	fp := p.FlexiblePension
	opts := make([]PayOption, 0, len(fp.GradesPercent))
	for _, pct := range fp.GradesPercent {
		base := roundToYuan(fp.AverageWageFen.MulBP(pct * 100))
		base = min(max(base, fp.BaseMinFen), fp.BaseMaxFen)
		opts = append(opts, PayOption{
			Code:      optGradePrefix + strconv.FormatInt(pct, 10),
			Label:     fmt.Sprintf("缴费基数 %s 元（%d%%档）", groupedYuan(base), pct),
			BaseFen:   base,
			AmountFen: base.MulBP(fp.RateBP),
		})
	}
	return opts
}

// PayOptions lists the options to show for a payable of scheme in year p.
// For flexible_medical, medicalOption is the option chosen at enrolment and
// only that option is listed (the agency assesses one); with no option yet
// both are listed. An unknown scheme or medical option lists nothing.
func PayOptions(p PolicyYear, scheme Scheme, medicalOption string) []PayOption {
	switch scheme {
	case SchemeFlexiblePension:
		return FlexiblePensionOptions(p)
	case SchemeFlexibleMedical:
		switch medicalOption {
		case "":
			return []PayOption{flexibleMedicalOption(p, MedicalCombined), flexibleMedicalOption(p, MedicalPoolingOnly)}
		case MedicalCombined, MedicalPoolingOnly:
			return []PayOption{flexibleMedicalOption(p, medicalOption)}
		}
		return nil
	case SchemeResidentMedical:
		rm := p.ResidentMedical
		return []PayOption{{
			Code:       optResidentMedical,
			Label:      fmt.Sprintf("个人缴费 %s 元/年（财政补助 %s 元）", groupedYuan(rm.AmountFen), groupedYuan(rm.SubsidyFen)),
			AmountFen:  rm.AmountFen,
			SubsidyFen: rm.SubsidyFen,
		}}
	case SchemeResidentPension:
		grades := p.ResidentPension.Grades
		opts := make([]PayOption, 0, len(grades))
		for _, g := range grades {
			opts = append(opts, PayOption{
				Code:       optGradePrefix + strconv.FormatInt(int64(g.AmountFen/100), 10),
				Label:      fmt.Sprintf("%s 元/年档（政府补贴 %s 元）", groupedYuan(g.AmountFen), groupedYuan(g.SubsidyFen)),
				AmountFen:  g.AmountFen,
				SubsidyFen: g.SubsidyFen,
			})
		}
		return opts
	}
	return nil
}

// flexibleMedicalOption is the monthly amount of one medical option: the
// base times the option's rate plus long-term care, summed before the one
// rounding. The yearly large-amount (大额) fee is not part of it; the caller
// adds it once a year.
func flexibleMedicalOption(p PolicyYear, option string) PayOption {
	fm := p.FlexibleMedical
	name, bp := "统账结合", fm.CombinedBP
	if option == MedicalPoolingOnly {
		name, bp = "单建统筹", fm.PoolingOnlyBP
	}
	rate := bp + fm.LongTermCareBP
	label := fmt.Sprintf("%s：缴费基数 %s 元 × %s", name, groupedYuan(fm.BaseFen), percentBP(rate))
	if fm.LongTermCareBP > 0 {
		label += fmt.Sprintf("（含长期护理保险 %s）", percentBP(fm.LongTermCareBP))
	}
	return PayOption{Code: option, Label: label, BaseFen: fm.BaseFen, AmountFen: fm.BaseFen.MulBP(rate)}
}

// ResolveOption turns the option code of a declaration into its amounts:
// any code PayOptions lists, and for flexible_pension also a custom base
// base_<whole yuan> within the year's limits. It recomputes from the policy
// rather than trusting amounts from the client.
func ResolveOption(p PolicyYear, scheme Scheme, medicalOption, code string) (PayOption, error) {
	if !scheme.Valid() {
		return PayOption{}, ErrSchemeInvalid
	}
	for _, o := range PayOptions(p, scheme, medicalOption) {
		if o.Code == code {
			return o, nil
		}
	}
	if scheme == SchemeFlexiblePension {
		if digits, ok := strings.CutPrefix(code, optBasePrefix); ok {
			return customPensionBase(p.FlexiblePension, digits)
		}
	}
	if scheme == SchemeFlexibleMedical && (code == MedicalCombined || code == MedicalPoolingOnly) {
		return PayOption{}, ErrInvalid.WithReason("所选医保缴费方式与参保登记的不一致")
	}
	return PayOption{}, ErrInvalid.WithReason("缴费档次不存在，请重新选择")
}

// customPensionBase accepts a base in whole yuan written without leading
// zeros, so each base has exactly one code.
func customPensionBase(fp FlexiblePensionPolicy, digits string) (PayOption, error) {
	if digits == "" || len(digits) > 9 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return PayOption{}, ErrInvalid.WithReason("缴费基数应为整数元")
	}
	yuan, _ := strconv.ParseInt(digits, 10, 64)
	base := YuanToFen(yuan)
	if base < fp.BaseMinFen || base > fp.BaseMaxFen {
		return PayOption{}, ErrBaseOutOfRange.WithReason(fmt.Sprintf("缴费基数须在 %s 元至 %s 元之间", groupedYuan(fp.BaseMinFen), groupedYuan(fp.BaseMaxFen)))
	}
	return PayOption{
		Code:      optBasePrefix + digits,
		Label:     fmt.Sprintf("缴费基数 %s 元（自选基数）", groupedYuan(base)),
		BaseFen:   base,
		AmountFen: base.MulBP(fp.RateBP),
	}, nil
}

// Contains reports whether the Beijing calendar date of t lies within the
// window, both ends inclusive; an empty end is open. Windows are published
// as dates in Beijing, so 23:30 UTC on 31 December is already outside a
// window ending that day.
func (w Window) Contains(t time.Time) bool {
	d := t.In(Beijing).Format(time.DateOnly)
	return (w.From == "" || d >= w.From) && (w.To == "" || d <= w.To)
}

// roundToYuan rounds a non-negative amount half up to whole yuan: published
// bases are whole yuan.
func roundToYuan(f Fen) Fen { return (f + 50) / 100 * 100 }

// groupedYuan renders fen as yuan with thousands separators, as people read
// amounts on notices: "4,907", or "6,543.20" when there are fen.
func groupedYuan(f Fen) string {
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	whole := strconv.FormatInt(int64(f/100), 10)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if cents := f % 100; cents != 0 {
		fmt.Fprintf(&b, ".%02d", int64(cents))
	}
	return sign + b.String()
}

// percentBP renders basis points as a percentage without trailing zeros:
// 2000 → "20%", 760 → "7.6%", 40 → "0.4%", 25 → "0.25%".
func percentBP(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if frac := bp % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s + "%"
}
