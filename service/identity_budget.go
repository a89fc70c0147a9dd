package service

import (
	"context"
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

// spendIdentityCheck charges one check of a name against an ID number to
// the user's budget and then to the client address's. Binding, adding a
// family member and naming a person inline to query or enrol all spend
// the same budgets, so moving between routes buys no more guesses, and
// many accounts behind one address share that address's. A user already
// over budget does not also drain the address, which others may share.
func (s *Service) spendIdentityCheck(ctx context.Context, userID string) error {
	if userID != "" {
		if err := s.rateLimit(ctx, "idcheck:user:"+userID, s.opt.IdentityChecksPerUser, identityCheckWindow); err != nil {
			return errIdentityBudget
		}
	}
	if addr := ClientAddr(ctx); addr != "" {
		if err := s.rateLimit(ctx, "idcheck:addr:"+addr, s.opt.IdentityChecksPerAddress, identityCheckWindow); err != nil {
			return errIdentityBudget
		}
	}
	return nil
}
