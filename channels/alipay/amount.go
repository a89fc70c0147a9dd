package alipay

import (
	"fmt"
	"strings"

	"github.com/lianban/lianban/models"
)

// yuanToFen converts an amount Alipay sends ("380.00", "0.01") to fen. It
// accepts what models.ParseYuan accepts (non-negative, at most two decimals,
// no grouping commas), so a malformed amount is an error instead of a guess.
func yuanToFen(s string) (models.Fen, error) {
	f, err := models.ParseYuan(s)
	if err != nil {
		return 0, fmt.Errorf("alipay: amount: %w", err)
	}
	return f, nil
}

// signedYuanToFen is yuanToFen for the daily bill, where refund rows carry a
// leading minus ("-380.00").
func signedYuanToFen(s string) (models.Fen, error) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		f, err := yuanToFen(rest)
		return -f, err
	}
	return yuanToFen(s)
}
