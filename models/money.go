package models

import (
	"fmt"
	"strconv"
	"strings"
)

// Fen is an amount of money in fen (0.01 yuan). Every amount in lianban is a
// Fen: JSON fields ending in _fen, BIGINT columns, logs. Floats never hold
// money because 19.90 yuan as a float64 becomes 1989 fen after truncation.
type Fen int64

// Yuan renders f as a decimal yuan string with exactly two decimals
// ("380.00", "-0.05"), the form Alipay and printed certificates use.
func (f Fen) Yuan() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// ParseYuan parses a non-negative decimal yuan string with at most two
// decimals ("380", "380.5", "380.00") into fen using integer arithmetic only.
func ParseYuan(s string) (Fen, error) {
	bad := fmt.Errorf("invalid yuan amount %q", s)
	if s == "" || len(s) > 20 {
		return 0, bad
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && (frac == "" || len(frac) > 2)) {
		return 0, bad
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, bad
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > (1<<62)/100 {
		return 0, bad
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return Fen(w*100 + f), nil
}

// MulBP multiplies f by a rate in basis points (1 bp = 0.01%), rounding half
// up to the fen. This is the one rounding rule of the fee policy: a base of
// 4,907.00 yuan at 2000 bp (20%) is 981.40 yuan.
func (f Fen) MulBP(bp int64) Fen {
	p := int64(f) * bp
	q := p / 10000
	if r := p % 10000; r*2 >= 10000 {
		q++
	}
	return Fen(q)
}

// YuanToFen converts whole yuan to fen.
func YuanToFen(y int64) Fen { return Fen(y * 100) }
