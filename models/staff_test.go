package models

import (
	"errors"
	"testing"
)

// TestEachRoleActsOnlyInItsStep is the permission table of DESIGN.md §6.
func TestEachRoleActsOnlyInItsStep(t *testing.T) {
	perms := []Permission{PermRefundIntake, PermRefundReview, PermRefundRead, PermStaffManage, PermAuditRead, PermSessionManage,
		PermAnomalyRead, PermAnomalyResolve, PermUnitPOSConfirm, PermPartnerManage, PermHallPayment}
	want := map[StaffRole][]Permission{
		RoleTaxWindow:  {PermRefundIntake, PermRefundRead, PermSessionManage, PermAnomalyRead, PermAnomalyResolve, PermUnitPOSConfirm, PermHallPayment},
		RoleSIReviewer: {PermRefundReview, PermRefundRead, PermSessionManage, PermAnomalyRead, PermAnomalyResolve},
		RoleMIReviewer: {PermRefundReview, PermRefundRead, PermSessionManage, PermAnomalyRead, PermAnomalyResolve},
		RoleAdmin:      {PermStaffManage, PermSessionManage, PermPartnerManage},
		RoleAuditor:    {PermAuditRead, PermSessionManage, PermAnomalyRead},
	}
	for _, r := range StaffRoles {
		has := map[Permission]bool{}
		for _, p := range want[r] {
			has[p] = true
		}
		for _, p := range perms {
			if r.May(p) != has[p] {
				t.Errorf("%s may %s: %v", r, p, r.May(p))
			}
		}
	}
	if StaffRole("root").Valid() || StaffRole("root").May(PermSessionManage) {
		t.Fatal("an unknown role may act")
	}
	reviews := map[StaffRole]string{RoleSIReviewer: DeptSocialInsurance, RoleMIReviewer: DeptMedicalInsurance}
	for _, r := range StaffRoles {
		for _, d := range []string{DeptSocialInsurance, DeptMedicalInsurance, DeptTax} {
			if r.Reviews(d) != (reviews[r] == d) {
				t.Errorf("%s reviews %s: %v", r, d, r.Reviews(d))
			}
			if r.SeesRefundsOf(d) != (r == RoleTaxWindow || reviews[r] == d) {
				t.Errorf("%s sees %s: %v", r, d, r.SeesRefundsOf(d))
			}
		}
	}
	// Anomalies: the tax window owns those of payments, a refund's belong
	// to the reviewer of its scheme; the auditor reads all, resolves none.
	owners := map[string]StaffRole{"": RoleTaxWindow, DeptTax: RoleTaxWindow, DeptSocialInsurance: RoleSIReviewer, DeptMedicalInsurance: RoleMIReviewer}
	for dept, owner := range owners {
		if AnomalyOwner(dept) != owner {
			t.Errorf("the anomaly of a %q refund belongs to %s, want %s", dept, AnomalyOwner(dept), owner)
		}
		for _, r := range StaffRoles {
			if r.SeesAnomaly(owner) != (r == owner || r == RoleAuditor) {
				t.Errorf("%s sees an anomaly of %s: %v", r, owner, r.SeesAnomaly(owner))
			}
			if r.ResolvesAnomaly(owner) != (r == owner) {
				t.Errorf("%s resolves an anomaly of %s: %v", r, owner, r.ResolvesAnomaly(owner))
			}
		}
	}
	if SchemeFlexiblePension.Department() != DeptSocialInsurance || SchemeResidentMedical.Department() != DeptMedicalInsurance {
		t.Fatal("schemes route to the wrong agency")
	}
}

func TestUsernamesAreNormalised(t *testing.T) {
	for in, want := range map[string]string{" Tax1 ": "tax1", "si.reviewer-2": "si.reviewer-2"} {
		if got, err := NormalizeUsername(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ab", "1abc", "张三", "a b c", "abcdefghijklmnopqrstuvwxyz0123456"} {
		if _, err := NormalizeUsername(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestAnAnomalyIsClosedWithAListedResolutionAndAReason(t *testing.T) {
	if reason, err := CheckAnomalyResolution(ResolvedRefunded, "  已原路退款，凭证号 123  "); err != nil || reason != "已原路退款，凭证号 123" {
		t.Fatalf("%q %v", reason, err)
	}
	for _, bad := range []struct {
		r      AnomalyResolution
		reason string
	}{{"fixed", "已处理完毕"}, {"", "已处理完毕"}, {ResolvedBooked, " 好 "}, {ResolvedOther, string(make([]rune, 501))}} {
		if _, err := CheckAnomalyResolution(bad.r, bad.reason); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q %q: %v", bad.r, bad.reason, err)
		}
	}
	if !ValidAnomalyKind("unknown_order") || ValidAnomalyKind("x'; drop") || ValidAnomalyKind("") {
		t.Fatal("kind validation")
	}
}
