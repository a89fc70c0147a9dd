package main

import (
	"context"
	"fmt"
	"log/slog"

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

// retireSandboxPartnerKeys retires the sandbox partners' keys outside
// sandbox mode: their secrets are in API.md and the README, so a database
// first served in sandbox mode would otherwise let anyone sign as the
// bank or the hall's POS (open and confirm orders, look people up).
func retireSandboxPartnerKeys(ctx context.Context, svc *service.Service, log *slog.Logger) error {
	ids := make([]string, 0, len(sandboxPartners))
	for _, p := range sandboxPartners {
		ids = append(ids, p.keyID)
	}
	n, err := svc.RetireSeededKeys(ctx, ids)
	if err != nil {
		return fmt.Errorf("retire sandbox partner keys: %w", err)
	}
	if n > 0 {
		log.Warn("outside sandbox mode: retired the sandbox partners' published keys", "count", n)
	}
	return nil
}
