package models

import (
	"log/slog"
	"strings"
)

// USCC is a parsed 统一社会信用代码 (unified social credit code, GB 32100-2015)
// of a legal person or other organisation: the one identifier a unit
// (employer) has. The parts are derived from the code itself, so they can
// never disagree with it.
//
//	position 1      登记管理部门代码 (registration authority, e.g. 9 工商/市场监管)
//	position 2      机构类别代码 (class within that authority, e.g. 91 企业)
//	positions 3–8   登记管理机关行政区划码 (GB/T 2260 region of the registering office)
//	positions 9–17  主体标识码 (the organisation code, GB 11714)
//	position 18     校验码 (check character)
type USCC struct {
	Code string // 18 characters, upper case
}

// usccChars is the GB 32100 character set in value order: the digits and
// the capital letters without I, O, S, V and Z, which are too easily
// mistaken for 1, 0, 5, U and 2. A character's value is its index.
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are the GB 32100 weights of positions 1–17 (3^(i-1) mod 31).
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// usccClasses maps each registration authority code to the class codes
// (second character) it assigns, from the code table of GB 32100 as
// extended by the standardisation administration: 1 机构编制, 2 外交,
// 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 工商(市场监管),
// A 中央军委改革和编制办公室, N 农业农村, Y 其他.
var usccClasses = map[byte]string{
	'1': "1239",   // 机关, 事业单位, 中央编办管理的群众团体, 其他
	'2': "19",     // 外国常驻新闻机构, 其他
	'3': "123459", // 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
	'4': "19",     // 外国在华文化中心, 其他
	'5': "1239",   // 社会团体, 民办非企业单位, 基金会, 其他
	'6': "129",    // 外国旅游部门常驻代表机构, 港澳台地区旅游部门常驻内地代表机构, 其他
	'7': "129",    // 宗教活动场所, 宗教院校, 其他
	'8': "19",     // 基层工会, 其他
	'9': "123",    // 企业, 个体工商户, 农民专业合作社
	'A': "19",     // 军队事业单位, 其他
	'N': "1239",   // 组级, 村级, 乡镇级集体经济组织, 其他
	'Y': "1",      // 其他
}

// ParseUSCC validates an 18-character 统一社会信用代码 and returns it. Lower
// case letters are accepted and normalised to upper case; nothing else is
// normalised (callers trim user input). Checked: the length, the character
// set, the registration authority and class codes, a 6-digit region code
// of a province (or 100000 for a national registration), and the check
// character.
//
// The check digit of the embedded GB 11714 organisation code (position
// 17) is deliberately not checked: codes issued since 2015 carry one, but
// the sandbox demo units of API.md (91150100MA0LB00013,
// 12150000MB1LB0002E) do not, and GB 32100's own check character already
// catches every single-character typo. Every failure is ErrUSCCInvalid
// with a reason.
func ParseUSCC(s string) (USCC, error) {
	if len(s) != 18 {
		return USCC{}, ErrUSCCInvalid.WithReason("统一社会信用代码应为18位")
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
			b[i] = c
		}
		if strings.IndexByte(usccChars, c) < 0 {
			return USCC{}, ErrUSCCInvalid.WithReason("统一社会信用代码含有不允许的字符（不使用字母I、O、S、V、Z）")
		}
	}
	classes, ok := usccClasses[b[0]]
	if !ok || strings.IndexByte(classes, b[1]) < 0 {
		return USCC{}, ErrUSCCInvalid.WithReason("统一社会信用代码的登记管理部门或机构类别代码不正确")
	}
	region := string(b[2:8])
	for _, c := range b[2:8] {
		if c < '0' || c > '9' {
			return USCC{}, ErrUSCCInvalid.WithReason("统一社会信用代码的行政区划码不正确")
		}
	}
	if !idProvinces[region[:2]] && region != "100000" {
		return USCC{}, ErrUSCCInvalid.WithReason("统一社会信用代码的行政区划码不正确")
	}
	check, _ := USCCCheckChar(string(b[:17]))
	if b[17] != check {
		return USCC{}, ErrUSCCInvalid.WithReason("统一社会信用代码校验码不正确，请检查是否输错")
	}
	return USCC{Code: string(b)}, nil
}

// USCCCheckChar computes the GB 32100 check character of the first 17
// characters of a code: 31 minus the weighted sum mod 31, mod 31. It
// reports false when a character is outside the character set.
func USCCCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccChars, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * usccWeights[i]
	}
	return usccChars[(31-sum%31)%31], true
}

// MakeUSCC completes 17 characters with their check character. It is how
// tests and demo data make units; it panics unless the result parses,
// because a bad argument here is a mistake in the calling code.
func MakeUSCC(first17 string) string {
	check, ok := USCCCheckChar(first17)
	if !ok {
		panic("MakeUSCC(" + first17 + "): need 17 characters of the GB 32100 set")
	}
	code := first17 + string(check)
	if _, err := ParseUSCC(code); err != nil {
		panic("MakeUSCC: " + code + " does not parse: " + err.Error())
	}
	return code
}

// AuthorityCode is the registration authority code (登记管理部门代码), the
// first character: '1' 机构编制, '5' 民政, '9' 工商(市场监管) ….
func (u USCC) AuthorityCode() byte { return u.Code[0] }

// ClassCode is the two-character authority and class code (e.g. "91" 企业,
// "12" 事业单位, "11" 机关).
func (u USCC) ClassCode() string { return u.Code[:2] }

// RegionCode is the 6-digit administrative division code of the office
// that registered the unit (not necessarily where it insures its staff).
func (u USCC) RegionCode() string { return u.Code[2:8] }

// OrgCode is the 9-character subject identifier (主体标识码), the unit's
// GB 11714 organisation code.
func (u USCC) OrgCode() string { return u.Code[8:17] }

// ClassName names the kind of organisation the code says the unit is, for
// the frequent classes; "" for the others.
func (u USCC) ClassName() string {
	switch u.ClassCode() {
	case "11":
		return "机关"
	case "12":
		return "事业单位"
	case "51":
		return "社会团体"
	case "52":
		return "民办非企业单位"
	case "53":
		return "基金会"
	case "91":
		return "企业"
	case "92":
		return "个体工商户"
	case "93":
		return "农民专业合作社"
	}
	return ""
}

// MaskUSCC keeps the authority, class and region codes and the check
// character of a code and hides the organisation code: enough for a person
// to recognise their unit in a list, not enough to look it up. A code is
// public on the business licence, but a list of them tied to people is
// not. Anything not 18 characters long is masked entirely.
func MaskUSCC(code string) string {
	if len(code) != 18 {
		return strings.Repeat("*", len(code))
	}
	return code[:8] + "*********" + code[17:]
}

// Masked is the code as responses that need not show it in full show it.
func (u USCC) Masked() string { return MaskUSCC(u.Code) }

// String returns the code. A USCC is printed on the unit's business
// licence and is not personal data, so unlike IDNumber it is not masked
// by default; use Masked where a list of units is tied to people.
func (u USCC) String() string { return u.Code }

// LogValue logs the code masked, in line with identifiers in logs.
func (u USCC) LogValue() slog.Value { return slog.StringValue(u.Masked()) }

// validUSCC reports whether s is a 统一社会信用代码 with a correct check
// character: documents that name a unit carry only codes that passed it.
func validUSCC(s string) bool {
	_, err := ParseUSCC(s)
	return err == nil
}
