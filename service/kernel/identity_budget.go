package kernel

import (
	"context"
	"errors"
	"time"

	"github.com/lianban/lianban/models"
)

// identityCheckWindow is the period of the identity-check budgets.
const identityCheckWindow = time.Hour

type clientAddrKey struct{}

// WithClientAddr returns ctx carrying the address a request came from (as
// the HTTP layer determines it, honouring only trusted proxies), so that
// budgets kept per client address apply to whatever workflow it runs.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr returns the address WithClientAddr put in ctx, or "".
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

// errIdentityBudget is the answer once a budget is spent. It is the same
// whether the next guess would have matched or not, so a spent budget
// confirms nothing.
var errIdentityBudget = models.ErrRateLimited.WithReason("姓名与身份证号码核验次数过多，请一小时后再试")

// SpendIdentityCheck charges one check of a name against an ID number to
// the user's budget and then to the client address's. Binding, adding a
// family member and naming a person inline to query or enrol all spend
// the same budgets (as does looking a person up by ID number alone for a
// grant or a guardian's consent), so moving between routes buys no more
// guesses, and many accounts behind one address share that address's. A user already
// over budget does not also drain the address, which others may share.
// Both budgets stop guessing, so they count in the database while Redis is
// down and refuse when neither can count (CountInDB).
func (s *Kernel) SpendIdentityCheck(ctx context.Context, userID string) error {
	if userID != "" {
		if err := s.RateLimit(ctx, "idcheck:user:"+userID, s.Opt.IdentityChecksPerUser, identityCheckWindow, CountInDB); err != nil {
			return budgetRefusal(err)
		}
	}
	if addr := ClientAddr(ctx); addr != "" {
		if err := s.RateLimit(ctx, "idcheck:addr:"+addr, s.Opt.IdentityChecksPerAddress, identityCheckWindow, CountInDB); err != nil {
			return budgetRefusal(err)
		}
	}
	return nil
}

// budgetRefusal is the answer to a check the budget refused: a spent
// budget says so, and a budget nobody can count (Redis and the database
// both down) says the service is unavailable, never that the guess may go
// ahead.
func budgetRefusal(err error) error {
	if errors.Is(err, models.ErrRateLimited) {
		return errIdentityBudget
	}
	return err
}
