package servicetest

import (
	"crypto/rand"
	"fmt"
)

// FreshAddr draws a client address whose budget no earlier run (a real
// Redis keeps counters for an hour) has spent.
func FreshAddr() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
}
