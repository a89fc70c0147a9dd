package models

import (
	"fmt"
	"slices"
	"strings"
)

// AssistanceStatus is a status recorded by civil affairs (民政) or rural
// revitalisation (乡村振兴) that a 盟市's resident medical notice may name
// for assisted enrolment (资助参保). Which statuses each of a notice's
// groups covers is policy data (assisted_group_statuses in policy.yaml).
type AssistanceStatus string

// The statuses the notices in the research name.
const (
	StatusDestitute         AssistanceStatus = "destitute"          // 特困供养人员
	StatusOrphan            AssistanceStatus = "orphan"             // 孤儿、事实无人抚养儿童
	StatusMinimumLiving     AssistanceStatus = "minimum_living"     // 最低生活保障对象（低保）
	StatusPovertyMonitoring AssistanceStatus = "poverty_monitoring" // 防止返贫监测对象
	StatusLowIncome         AssistanceStatus = "low_income"         // 低保边缘等低收入人口
	StatusSevereDisability  AssistanceStatus = "severe_disability"  // 重度残疾人
)

var statusNames = map[AssistanceStatus]string{
	StatusDestitute:         "特困人员",
	StatusOrphan:            "孤儿（事实无人抚养儿童）",
	StatusMinimumLiving:     "低保对象",
	StatusPovertyMonitoring: "防止返贫监测对象",
	StatusLowIncome:         "低收入人口",
	StatusSevereDisability:  "重度残疾人",
}

// Valid reports whether s is a known status.
func (s AssistanceStatus) Valid() bool { _, ok := statusNames[s]; return ok }

// Name is the status in Chinese.
func (s AssistanceStatus) Name() string { return statusNames[s] }

// Assistance is how a resident medical amount was reduced for an assisted
// group: the standard amount, what the government pays of it, and what
// the person pays.
type Assistance struct {
	GroupCode     string `json:"group_code"`
	GroupLabel    string `json:"group_label"`
	StandardFen   Fen    `json:"standard_fen"`
	AssistanceFen Fen    `json:"assistance_fen"`
	DueFen        Fen    `json:"due_fen"`
}

// ResidentMedicalAssistance decides a person's resident medical amount
// from the statuses they hold: nil when they hold none, else the
// assistance of the group with the lowest amount among those covering a
// status (a person in two groups gets the larger help). When a status is
// held that none of the region's groups covers, it is an error with the
// reason and no amount: the notice may well help that person more (呼和浩特
// names no figure for 特困 and 孤儿, who are assisted by 医疗救助), and
// charging the standard amount would be a refund case, so the agency
// decides at the hall.
func (b *PolicyBook) ResidentMedicalAssistance(p PolicyYear, statuses []AssistanceStatus) (*Assistance, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	rm := p.ResidentMedical
	var best *AssistedGroup
	var uncovered []string
	for _, s := range statuses {
		covered := false
		for i, g := range rm.AssistedGroups {
			if !slices.Contains(b.assisted[g.Code], s) {
				continue
			}
			covered = true
			if best == nil || g.AmountFen < best.AmountFen {
				best = &rm.AssistedGroups[i]
			}
		}
		if !covered {
			uncovered = append(uncovered, s.Name())
		}
	}
	if len(uncovered) > 0 {
		return nil, ErrNotEligible.WithReason(fmt.Sprintf("您登记为%s，%s%d年度城乡居民医保对此未列明资助标准，请到医保经办机构办理资助参保",
			strings.Join(uncovered, "、"), p.RegionName, p.Year))
	}
	return &Assistance{GroupCode: best.Code, GroupLabel: best.Label, StandardFen: rm.AmountFen,
		AssistanceFen: rm.AmountFen - best.AmountFen, DueFen: best.AmountFen}, nil
}
