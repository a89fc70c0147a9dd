package main

import (
	"context"
	"fmt"

	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/partners"
)

// The sandbox's counter partners (API.md): a bank whose counters, 云POS
// and 裕农通 points take payments, and the hall's own POS, each with a
// known key so the README's lianban-sign walk-through works as pasted.
// Sandbox mode only.
var sandboxPartners = []struct {
	in     partners.PartnerInput
	keyID  string
	secret string
}{
	{partners.PartnerInput{PartnerID: "sandbox-bank", Name: "联办示范银行", Channels: []string{"bank_counter", "yun_pos", "yunongtong"}},
		"sandbox-bank-key-1", "sandbox-partner-key"},
	{partners.PartnerInput{PartnerID: "sandbox-hall", Name: "办税服务厅", Channels: []string{"hall_pos"}},
		"sandbox-hall-key-1", "sandbox-hall-key"},
}

// seedSandboxPartners creates the sandbox partners unless they exist; an
// existing one is left as an admin may have changed it.
func seedSandboxPartners(ctx context.Context, svc *service.Service) error {
	for _, p := range sandboxPartners {
		if err := svc.SeedPartner(ctx, p.in, p.keyID, p.secret); err != nil {
			return fmt.Errorf("seed sandbox partner %s: %w", p.in.PartnerID, err)
		}
	}
	return nil
}
