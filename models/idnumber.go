package models

import (
	"fmt"
	"log/slog"
	"time"
)

// IDNumber is a parsed resident identity card number (居民身份证号码,
// GB 11643-1999). Birth date and sex are derived from the number itself, so
// they can never disagree with it.
type IDNumber struct {
	Number string    // 18 characters, check digit upper-case
	Region string    // 6-digit administrative division code at registration
	Birth  time.Time // the birth date at 00:00 UTC; only its date matters
	Male   bool      // odd sequence number
}

// idWeights are the GB 11643 weights of the first 17 digits (2^(17-i) mod 11).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps the weighted sum mod 11 to the check character.
const idCheckChars = "10X98765432"

// idProvinces are the first two digits GB/T 2260 assigns to provincial
// divisions (plus 71 台湾, 81 香港, 82 澳门, 83 for the residence permits of
// Taiwan residents). Rejecting other prefixes catches numbers that pass the
// check digit by chance but cannot belong to anyone, such as "000000…".
var idProvinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true,
}

// idMinBirthYear bounds birth years from below: no one alive was born
// earlier, and an early bound keeps typos like 0990 out.
const idMinBirthYear = 1900

// ParseIDNumber validates an 18-character resident ID number and derives its
// fields. A lower-case check character x is accepted and normalised to X;
// nothing else is normalised (callers trim user input). Whether the birth
// date lies in the future is not checked here: that needs a clock. Every
// failure is ErrIDNumberInvalid with a reason.
func ParseIDNumber(s string) (IDNumber, error) {
	if len(s) != 18 {
		return IDNumber{}, ErrIDNumberInvalid.WithReason("身份证号码应为18位")
	}
	b := []byte(s)
	if b[17] == 'x' {
		b[17] = 'X'
	}
	for i := 0; i < 17; i++ {
		if b[i] < '0' || b[i] > '9' {
			return IDNumber{}, ErrIDNumberInvalid.WithReason("身份证号码前17位应为数字")
		}
	}
	if !idProvinces[string(b[:2])] {
		return IDNumber{}, ErrIDNumberInvalid.WithReason("身份证号码的地区码不正确")
	}
	birth, ok := parseIDDate(string(b[6:14]))
	if !ok {
		return IDNumber{}, ErrIDNumberInvalid.WithReason("身份证号码中的出生日期不正确")
	}
	check, _ := IDCheckDigit(string(b[:17]))
	if b[17] != check {
		return IDNumber{}, ErrIDNumberInvalid.WithReason("身份证号码校验码不正确，请检查是否输错")
	}
	return IDNumber{
		Number: string(b),
		Region: string(b[:6]),
		Birth:  birth,
		Male:   (b[16]-'0')%2 == 1,
	}, nil
}

// parseIDDate parses YYYYMMDD as a real calendar date. time.Date would
// silently turn 19900230 into 1990-03-02, so the result is compared back.
func parseIDDate(s string) (time.Time, bool) {
	y := atoiDigits(s[0:4])
	m := atoiDigits(s[4:6])
	d := atoiDigits(s[6:8])
	if y < idMinBirthYear || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// atoiDigits converts a string already known to be ASCII digits.
func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// IDCheckDigit computes the GB 11643 check character ('0'–'9' or 'X') of
// the first 17 digits of an ID number.
func IDCheckDigit(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("id check digit: need 17 digits, got %d characters", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("id check digit: character %d is not a digit", i+1)
		}
		sum += int(c-'0') * idWeights[i]
	}
	return idCheckChars[sum%11], nil
}

// MakeIDNumber builds a valid ID number from a region code, a birth date
// (its calendar date in its own location, so a Beijing midnight stays on
// the same day) and a sequence number 0–999 (odd = male). It is how tests
// and demo data make people. It panics unless the result is a number
// ParseIDNumber accepts, because a bad argument here is a mistake in the
// calling code, not user input, and a silently invalid person would make a
// test pass or fail for the wrong reason.
func MakeIDNumber(region string, birth time.Time, seq int) string {
	y, m, d := birth.Date()
	if len(region) != 6 || seq < 0 || seq > 999 || y < 0 || y > 9999 {
		panic(fmt.Sprintf("MakeIDNumber(%q, %04d-%02d-%02d, %d): arguments out of range", region, y, int(m), d, seq))
	}
	first17 := fmt.Sprintf("%s%04d%02d%02d%03d", region, y, int(m), d, seq)
	check, err := IDCheckDigit(first17)
	if err != nil {
		panic("MakeIDNumber: " + err.Error())
	}
	number := first17 + string(check)
	if _, err := ParseIDNumber(number); err != nil {
		panic(fmt.Sprintf("MakeIDNumber: %s does not parse: %v", number, err))
	}
	return number
}

// AgeAt returns the person's age in full years at t, counted on Beijing
// calendar dates: the age rises on the birthday (for 29 February, on
// 1 March in common years).
func (id IDNumber) AgeAt(t time.Time) int {
	by, bm, bd := id.Birth.Date()
	ty, tm, td := t.In(Beijing).Date()
	age := ty - by
	if tm < bm || (tm == bm && td < bd) {
		age--
	}
	return age
}

// MinorAt reports whether the person is under 18 at t. Guardianship of a
// minor's records depends on it.
func (id IDNumber) MinorAt(t time.Time) bool { return id.AgeAt(t) < 18 }

// String masks the number, so an IDNumber printed or logged by accident
// shows only what responses show (DESIGN.md §3). Use Number for the value.
func (id IDNumber) String() string { return MaskIDNumber(id.Number) }

// GoString masks %#v the same way.
func (id IDNumber) GoString() string { return "models.IDNumber(" + id.String() + ")" }

// LogValue masks the number in slog output.
func (id IDNumber) LogValue() slog.Value { return slog.StringValue(id.String()) }
