package certificate

import (
	"strings"

	"github.com/lianban/lianban/models"
)

// Financial numerals (大写), used on tax documents because no stroke can
// turn one into another. Each is three bytes of UTF-8.
const (
	upperDigitChars = "零壹贰叁肆伍陆柒捌玖"
	upperUnitChars  = "个拾佰仟" // 个 is never printed
)

func upperDigit(d int64) string { return upperDigitChars[3*d : 3*d+3] }

func upperUnit(pos int) string {
	if pos == 0 {
		return ""
	}
	return upperUnitChars[3*pos : 3*pos+3]
}

// upperGroup names the group of four digits at index gi (个, 万, 亿, 万亿).
func upperGroup(gi int) string {
	switch gi {
	case 0:
		return ""
	case 1:
		return "万"
	case 2:
		return "亿"
	}
	return "万亿"
}

// upperYuan writes a non-negative amount in financial numerals following
// the 《支付结算办法》 conventions: 整 after 元 when there are no jiao or
// fen, 零 for every run of zeros inside the number and between 元 and a
// lone 分. 98140 fen is 玖佰捌拾壹元肆角.
func upperYuan(f models.Fen) string {
	if f < 0 {
		return "负" + upperYuan(-f)
	}
	yuan, jiao, fen := int64(f)/100, int64(f)/10%10, int64(f)%10
	var b strings.Builder
	if yuan > 0 {
		b.WriteString(upperInteger(yuan))
		b.WriteString("元")
	}
	switch {
	case jiao == 0 && fen == 0:
		if yuan == 0 {
			b.WriteString("零元")
		}
		b.WriteString("整")
	case jiao == 0:
		if yuan > 0 {
			b.WriteString("零")
		}
		b.WriteString(upperDigit(fen) + "分")
	default:
		b.WriteString(upperDigit(jiao) + "角")
		if fen > 0 {
			b.WriteString(upperDigit(fen) + "分")
		}
	}
	return b.String()
}

// upperInteger writes n > 0 in groups of four digits (个, 万, 亿, 万亿).
func upperInteger(n int64) string {
	var groups []int64
	for ; n > 0; n /= 10000 {
		groups = append(groups, n%10000)
	}
	var b strings.Builder
	skipped := false // a zero group or leading zeros since the last digit written
	for gi := len(groups) - 1; gi >= 0; gi-- {
		g := groups[gi]
		if g == 0 {
			skipped = b.Len() > 0
			continue
		}
		if b.Len() > 0 && (skipped || g < 1000) {
			b.WriteString("零")
		}
		skipped = false
		wrote, zero := false, false
		for pos := 3; pos >= 0; pos-- {
			d := g / pow10(pos) % 10
			if d == 0 {
				zero = wrote
				continue
			}
			if zero {
				b.WriteString("零")
				zero = false
			}
			b.WriteString(upperDigit(d) + upperUnit(pos))
			wrote = true
		}
		b.WriteString(upperGroup(gi))
	}
	return b.String()
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
