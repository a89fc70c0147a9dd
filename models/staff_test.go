package models

import (
	"errors"
	"testing"
)

// TestEachRoleActsOnlyInItsStep is the permission table of DESIGN.md §6.
func TestEachRoleActsOnlyInItsStep(t *testing.T) {
	perms := []Permission{PermRefundIntake, PermRefundReview, PermRefundRead, PermStaffManage, PermAuditRead, PermSessionManage}
	want := map[StaffRole][]Permission{
		RoleTaxWindow:  {PermRefundIntake, PermRefundRead, PermSessionManage},
		RoleSIReviewer: {PermRefundReview, PermRefundRead, PermSessionManage},
		RoleMIReviewer: {PermRefundReview, PermRefundRead, PermSessionManage},
		RoleAdmin:      {PermStaffManage, PermSessionManage},
		RoleAuditor:    {PermAuditRead, PermSessionManage},
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
