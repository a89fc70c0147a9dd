package models

import (
	"errors"
	"strings"
	"testing"
)

func TestTheRefundStateMachineMovesOnlyForward(t *testing.T) {
	allowed := map[[2]RefundStatus]bool{
		{RefundSubmitted, RefundAccepted}: true, {RefundSubmitted, RefundRefused}: true,
		{RefundAccepted, RefundForwarded}: true, {RefundForwarded, RefundApproved}: true, {RefundForwarded, RefundRejected}: true,
		{RefundApproved, RefundRefunding}: true, {RefundRefunding, RefundRefunded}: true,
	}
	all := []RefundStatus{RefundSubmitted, RefundAccepted, RefundRefused, RefundForwarded, RefundApproved, RefundRejected, RefundRefunding, RefundRefunded}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanMoveTo(to); got != allowed[[2]RefundStatus{from, to}] {
				t.Errorf("%s → %s: %v", from, to, got)
			}
		}
		if from.Final() != (from == RefundRefused || from == RefundRejected || from == RefundRefunded) {
			t.Errorf("%s final: %v", from, from.Final())
		}
		if !from.Valid() || from.Label() == string(from) {
			t.Errorf("%s has no label", from)
		}
	}
}

func TestTheHolderIsADepartmentNeverAPerson(t *testing.T) {
	cases := []struct {
		s    RefundStatus
		dept string
		want string
	}{
		{RefundSubmitted, DeptMedicalInsurance, DeptTax},
		{RefundForwarded, DeptMedicalInsurance, DeptMedicalInsurance},
		{RefundForwarded, DeptSocialInsurance, DeptSocialInsurance},
		{RefundApproved, DeptSocialInsurance, DeptTax},
		{RefundRefunding, DeptSocialInsurance, DeptTax},
		{RefundRefused, DeptSocialInsurance, ""},
		{RefundRejected, DeptSocialInsurance, ""},
		{RefundRefunded, DeptSocialInsurance, ""},
	}
	for _, c := range cases {
		if got := RefundHolder(c.s, c.dept); got != c.want {
			t.Errorf("%s of %s: held by %q, want %q", c.s, c.dept, got, c.want)
		}
	}
	if DepartmentName(DeptTax) != "税务" || DepartmentName(DeptSocialInsurance) != "社保经办机构" || DepartmentName(DeptMedicalInsurance) != "医保经办机构" {
		t.Fatal("department names")
	}
}

func TestBankAccountsAreNormalisedCheckedAndMasked(t *testing.T) {
	b, err := BankAccount{BankName: " 工商银行 ", AccountName: "张三明", AccountNo: "6222 0202 0011 2233 445"}.Normalize()
	if err != nil || b.AccountNo != "6222020200112233445" || b.BankName != "工商银行" {
		t.Fatalf("%+v %v", b, err)
	}
	if m := b.Masked(); m.AccountNoMasked != "6222 **** **** 3445" || m.AccountNameMasked != "张*明" {
		t.Fatalf("masked %+v", m)
	}
	for _, bad := range []BankAccount{
		{AccountName: "张三明", AccountNo: "6222020200112233445"},
		{BankName: "工商银行", AccountNo: "6222020200112233445"},
		{BankName: "工商银行", AccountName: "张三明", AccountNo: "1234567"},
		{BankName: "工商银行", AccountName: "张三明", AccountNo: "62220202001122334X"},
		{BankName: "工商银行", AccountName: "张三明", AccountNo: strings.Repeat("1", 33)},
	} {
		if _, err := bad.Normalize(); !errors.Is(err, ErrBankAccountInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestRefusalReasonsAreAllGivenAtOnceWithoutBlanksOrRepeats(t *testing.T) {
	got, err := CheckReasons([]string{" 缺少申请表 ", "", "缺少申请表", "账户不符"})
	if err != nil || len(got) != 2 || got[0] != "缺少申请表" || got[1] != "账户不符" {
		t.Fatalf("%q %v", got, err)
	}
	for _, bad := range [][]string{nil, {" "}, {strings.Repeat("长", 201)}, make([]string, 21)} {
		if len(bad) == 21 {
			for i := range bad {
				bad[i] = strings.Repeat("x", i+1)
			}
		}
		if _, err := CheckReasons(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d reasons: %v", len(bad), err)
		}
	}
}

func TestAttachmentsNameASeedMaterial(t *testing.T) {
	a, err := Attachment{Name: " 申请表.jpg "}.Check()
	if err != nil || a.Kind != AttachOther || a.Name != "申请表.jpg" {
		t.Fatalf("%+v %v", a, err)
	}
	for _, bad := range []Attachment{{Kind: "photo", Name: "x"}, {Kind: AttachForm}, {Kind: AttachForm, Name: "x", Ref: strings.Repeat("r", 257)}} {
		if _, err := bad.Check(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
