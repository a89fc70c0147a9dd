package models

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// Codes known to be valid: the sandbox demo units of API.md, and codes
// printed on well-known organisations' public business licences.
var validUSCCs = []string{
	"91150100MA0LB00013", // 内蒙古联办示范科技有限公司 (sandbox demo, enterprise)
	"12150000MB1LB0002E", // 内蒙古自治区联办示范服务中心 (sandbox demo, institution)
	"9144030071526726XG", // 深圳市腾讯计算机系统有限公司
	"91330100716105852F", // 阿里巴巴（中国）有限公司
	"914403001922038216", // 华为技术有限公司
	"12100000400000624D", // a national 事业单位, region 100000
	"91350100M000100Y43", // the example code quoted with GB 32100
}

func TestParseUSCCAcceptsKnownValidCodes(t *testing.T) {
	for _, code := range validUSCCs {
		u, err := ParseUSCC(code)
		if err != nil {
			t.Errorf("ParseUSCC(%q): %v", code, err)
			continue
		}
		if u.Code != code {
			t.Errorf("ParseUSCC(%q).Code = %q", code, u.Code)
		}
	}
}

func TestTheDemoUnitsParts(t *testing.T) {
	u, err := ParseUSCC("91150100MA0LB00013")
	if err != nil {
		t.Fatal(err)
	}
	if u.AuthorityCode() != '9' || u.ClassCode() != "91" || u.ClassName() != "企业" || u.RegionCode() != "150100" || u.OrgCode() != "MA0LB0001" {
		t.Fatalf("parts of %s: %c %s %s %s %s", u, u.AuthorityCode(), u.ClassCode(), u.ClassName(), u.RegionCode(), u.OrgCode())
	}
	inst, err := ParseUSCC("12150000MB1LB0002E")
	if err != nil {
		t.Fatal(err)
	}
	if inst.ClassName() != "事业单位" || inst.RegionCode() != "150000" {
		t.Fatalf("institution parts: %s %s", inst.ClassName(), inst.RegionCode())
	}
}

func TestParseUSCCRefusesBadCodes(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"17 characters", "91150100MA0LB0001", "统一社会信用代码应为18位"},
		{"19 characters", "91150100MA0LB000133", "统一社会信用代码应为18位"},
		{"the empty string", "", "统一社会信用代码应为18位"},
		{"a wrong check character", "91150100MA0LB00014", "统一社会信用代码校验码不正确，请检查是否输错"},
		{"two neighbours swapped", "91150100MA0LB00103", "统一社会信用代码校验码不正确，请检查是否输错"},
		{"the letter O, which the set leaves out", "91150100MAOLB00013", "统一社会信用代码含有不允许的字符（不使用字母I、O、S、V、Z）"},
		{"the letter I", "91150100MA0LBI0013", "统一社会信用代码含有不允许的字符（不使用字母I、O、S、V、Z）"},
		{"a letter Z check character", "91150100MA0LB0001Z", "统一社会信用代码含有不允许的字符（不使用字母I、O、S、V、Z）"},
		{"a space", "91150100MA0LB 0013", "统一社会信用代码含有不允许的字符（不使用字母I、O、S、V、Z）"},
		{"a full-width digit", "９1150100MA0LB000", "统一社会信用代码含有不允许的字符（不使用字母I、O、S、V、Z）"},
		{"an unknown registration authority", "B1150100MA0LB00013", "统一社会信用代码的登记管理部门或机构类别代码不正确"},
		{"a class the authority does not assign", "94150100MA0LB00013", "统一社会信用代码的登记管理部门或机构类别代码不正确"},
		{"a letter in the region code", "9115010AMA0LB00013", "统一社会信用代码的行政区划码不正确"},
		{"a region in no province", "91000000MA0LB00013", "统一社会信用代码的行政区划码不正确"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseUSCC(tt.in)
			if !errors.Is(err, ErrUSCCInvalid) {
				t.Fatalf("ParseUSCC(%q) error = %v, want ErrUSCCInvalid", tt.in, err)
			}
			if e, _ := AsError(err); e.Reason != tt.reason || e.Kind != KindInvalid {
				t.Fatalf("reason = %q (kind %d), want %q", e.Reason, e.Kind, tt.reason)
			}
		})
	}
}

func TestParseUSCCNormalisesLowerCase(t *testing.T) {
	u, err := ParseUSCC("12150000mb1lb0002e")
	if err != nil || u.Code != "12150000MB1LB0002E" {
		t.Fatalf("ParseUSCC(lower case) = %q, %v", u.Code, err)
	}
}

// TestEverySingleCharacterTypoIsCaught changes each character of the demo
// codes to every other character of the set: the mod-31 check must refuse
// them all (GB 32100's weights are all prime to 31).
func TestEverySingleCharacterTypoIsCaught(t *testing.T) {
	for _, code := range validUSCCs[:2] {
		for i := 0; i < 18; i++ {
			for j := 0; j < len(usccChars); j++ {
				c := usccChars[j]
				if c == code[i] {
					continue
				}
				typo := code[:i] + string(c) + code[i+1:]
				if _, err := ParseUSCC(typo); err == nil {
					t.Errorf("typo %q of %q accepted", typo, code)
				}
			}
		}
	}
}

func TestMakeUSCC(t *testing.T) {
	if got := MakeUSCC("91150100MA0LB0001"); got != "91150100MA0LB00013" {
		t.Fatalf("MakeUSCC = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MakeUSCC of a bad prefix did not panic")
		}
	}()
	MakeUSCC("B1150100MA0LB0001")
}

func TestUSCCMaskingAndLogging(t *testing.T) {
	u, _ := ParseUSCC("91150100MA0LB00013")
	if u.Masked() != "91150100*********3" {
		t.Fatalf("Masked = %q", u.Masked())
	}
	if MaskUSCC("123") != "***" {
		t.Fatalf("MaskUSCC of a short string = %q", MaskUSCC("123"))
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("bound", "uscc", u)
	if strings.Contains(logged.String(), "MA0LB0001") || !strings.Contains(logged.String(), "91150100*********3") {
		t.Fatalf("logged %q", logged.String())
	}
}

func FuzzParseUSCC(f *testing.F) {
	for _, s := range append(validUSCCs, "", "x", "91150100ma0lb00013", "91150100MA0LB00014", "\xff\xfe150100MA0LB00013", "９1150100MA0LB0") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUSCC(s)
		if err != nil {
			if !errors.Is(err, ErrUSCCInvalid) {
				t.Fatalf("ParseUSCC(%q) error %v is not ErrUSCCInvalid", s, err)
			}
			return
		}
		if len(u.Code) != 18 || !strings.EqualFold(u.Code, s) || strings.ToUpper(u.Code) != u.Code {
			t.Fatalf("ParseUSCC(%q).Code = %q", s, u.Code)
		}
		check, ok := USCCCheckChar(u.Code[:17])
		if !ok || check != u.Code[17] {
			t.Fatalf("accepted %q whose check character is %q, want %q", s, u.Code[17], check)
		}
		again, err := ParseUSCC(u.Code)
		if err != nil || again != u {
			t.Fatalf("normalised %q does not re-parse to the same value: %+v, %v", u.Code, again, err)
		}
		if MakeUSCC(u.Code[:17]) != u.Code {
			t.Fatalf("MakeUSCC round trip of %q", u.Code)
		}
	})
}
