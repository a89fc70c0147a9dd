package models

import "strings"

// Masking is how personal data leaves the server: in responses, logs,
// certificates' public summaries. Each function keeps the conventional
// shape for the well-formed value (the form people recognise on bank and
// government pages) and, for any other input, never reveals more than half
// of the characters, so a truncated or malformed value cannot leak more than
// a real one. All of them work on runes and return "" for "".

// MaskIDNumber masks an 18-character ID number to its region and last four:
// "150102199003071234" → "150102********1234". Other lengths (old 15-digit
// numbers, garbage) keep at most half.
func MaskIDNumber(s string) string {
	r := []rune(s)
	if len(r) == 18 {
		return maskMiddle(r, 6, 4)
	}
	head, tail := halfBudget(len(r), 6, 4)
	return maskMiddle(r, head, tail)
}

// MaskName keeps the first character and, for names of three or more, the
// last: "张三" → "张*", "张三明" → "张*明", "欧阳娜娜" → "欧**娜". A
// one-character value shows nothing.
func MaskName(s string) string {
	r := []rune(s)
	switch n := len(r); {
	case n == 0:
		return ""
	case n == 1:
		return "*"
	case n == 2:
		return string(r[0]) + "*"
	default:
		return maskMiddle(r, 1, 1)
	}
}

// MaskPhone masks an 11-digit mobile number to "138****5678"; other lengths
// keep at most half.
func MaskPhone(s string) string {
	r := []rune(s)
	if len(r) == 11 {
		return maskMiddle(r, 3, 4)
	}
	head, tail := halfBudget(len(r), 3, 4)
	return maskMiddle(r, head, tail)
}

// MaskBankAccount shows a bank card or account number as
// "6222 **** **** 0123": first four, last four, and a fixed run of stars so
// the length is not revealed either. Spaces in the input are ignored.
// Numbers shorter than 16 keep at most half of their characters.
func MaskBankAccount(s string) string {
	r := []rune(strings.Join(strings.Fields(s), ""))
	if len(r) == 0 {
		return ""
	}
	head, tail := 4, 4
	if len(r) < 16 {
		head, tail = halfBudget(len(r), 4, 4)
	}
	parts := make([]string, 0, 4)
	if head > 0 {
		parts = append(parts, string(r[:head]))
	}
	parts = append(parts, "****", "****")
	if tail > 0 {
		parts = append(parts, string(r[len(r)-tail:]))
	}
	return strings.Join(parts, " ")
}

// maskMiddle keeps head runes at the start and tail at the end and replaces
// every rune between them with '*', so the length stays visible (people
// check a masked ID against their card by its shape).
func maskMiddle(r []rune, head, tail int) string {
	if head+tail > len(r) {
		head, tail = 0, 0
	}
	var b strings.Builder
	b.WriteString(string(r[:head]))
	b.WriteString(strings.Repeat("*", len(r)-head-tail))
	b.WriteString(string(r[len(r)-tail:]))
	return b.String()
}

// halfBudget shrinks a head/tail split so that together they reveal at most
// n/2 characters, giving the tail the larger share: the end of a number
// (the check digit, the last digits of a phone) is what people compare.
func halfBudget(n, head, tail int) (int, int) {
	budget := n / 2
	if head+tail <= budget {
		return head, tail
	}
	tail = min(tail, (budget+1)/2)
	head = min(head, budget-tail)
	return head, tail
}
