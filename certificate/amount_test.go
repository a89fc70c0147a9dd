package certificate

import (
	"testing"

	"github.com/lianban/lianban/models"
)

func TestUpperYuanWritesFinancialNumerals(t *testing.T) {
	cases := map[models.Fen]string{
		0:              "零元整",
		5:              "伍分",
		40:             "肆角",
		45:             "肆角伍分",
		100:            "壹元整",
		1000:           "壹拾元整",
		1005:           "壹拾元零伍分",
		98140:          "玖佰捌拾壹元肆角",
		117768:         "壹仟壹佰柒拾柒元陆角捌分",
		100405:         "壹仟零肆元零伍分",
		100005:         "壹仟元零伍分",
		101000:         "壹仟零壹拾元整",
		105000:         "壹仟零伍拾元整",
		1000000:        "壹万元整",
		1050000:        "壹万零伍佰元整",
		10005000:       "壹拾万零伍拾元整",
		100000000:      "壹佰万元整",
		1000000000000:  "壹佰亿元整",
		10000000100:    "壹亿零壹元整",
		10100000000:    "壹亿零壹佰万元整",
		11000000100:    "壹亿壹仟万零壹元整",
		10000100000:    "壹亿零壹仟元整",
		123456789012:   "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分",
		-98140:         "负玖佰捌拾壹元肆角",
		10000000000000: "壹仟亿元整",
	}
	for fen, want := range cases {
		if got := upperYuan(fen); got != want {
			t.Errorf("upperYuan(%s) = %s, want %s", fen.Yuan(), got, want)
		}
	}
}
