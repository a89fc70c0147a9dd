package payouts

import "context"

// SendIfStillPending exposes sendIfStillPending to the package's tests.
func (s *Payouts) SendIfStillPending(ctx context.Context, payoutNo, source string) error {
	return s.sendIfStillPending(ctx, payoutNo, source)
}
