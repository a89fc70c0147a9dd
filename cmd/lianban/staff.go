package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
)

// The sandbox hall (API.md): one account per role, all with this password
// and TOTP secret, for the hall-side walk-through. Sandbox mode only.
const (
	sandboxStaffPassword = "sandbox-password"
	sandboxStaffTOTP     = "JBSWY3DPEHPK3PXP"
)

var sandboxStaff = []struct {
	username string
	role     models.StaffRole
}{
	{"tax1", models.RoleTaxWindow},
	{"si1", models.RoleSIReviewer},
	{"mi1", models.RoleMIReviewer},
	{"admin1", models.RoleAdmin},
	{"auditor1", models.RoleAuditor},
}

// staffBootstrap is "lianban staff-bootstrap --username admin --role admin":
// it creates the first admin account and prints its generated password and
// TOTP secret once. It refuses when an active admin exists; admins then
// manage accounts through /api/v1/staff/accounts.
func staffBootstrap(ctx context.Context, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("staff-bootstrap", flag.ContinueOnError)
	fs.SetOutput(out)
	username := fs.String("username", "admin", "the admin's username (3–32 of a-z 0-9 _ . -, starting with a letter)")
	role := fs.String("role", string(models.RoleAdmin), "the account's role; only admin can be bootstrapped")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, pii, err := openForCommand(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := service.New(service.Deps{DB: db, PII: pii, Log: log}, service.Defaults())
	creds, err := svc.BootstrapStaff(ctx, *username, models.StaffRole(*role))
	if err != nil {
		if e, ok := models.AsError(err); ok && e.Reason != "" {
			return errors.New(e.Reason)
		}
		return err
	}
	_, err = fmt.Fprintf(out, `Staff account created. The password and TOTP secret are shown this once: keep them safe.
  username:     %s
  role:         %s
  password:     %s
  TOTP secret:  %s
  otpauth URL:  %s
Add the secret (or the URL as a QR code) to an authenticator app, then log in with
POST /api/v1/staff/sessions {"username","password","totp"}.
`, creds.Account.Username, creds.Account.Role, creds.Password, creds.TOTPSecret, creds.OTPAuthURL)
	return err
}

// wireStaff completes the refund side of the service: in sandbox mode an
// in-process fake bank stands in for the partner bank's transfer interface
// (unless one is configured), and the sandbox hall accounts are seeded.
// Outside sandbox mode a bank transfer needs Deps.Bank configured; without
// it executing a refund by bank answers 503.
func wireStaff(ctx context.Context, cfg Config, app *App) error {
	if !cfg.Sandbox {
		if app.svc.Bank == nil {
			app.log.Warn("no bank transfer interface configured: refunds that cannot go back through their channel cannot be paid")
		}
		return nil
	}
	if app.svc.Bank == nil {
		fake := bankfake.New(bankfake.Options{Clock: app.svc.Clock})
		fake.Start()
		// The fake bank tells the server of each 三方协议 debit's final
		// state on the notify route, as the real bank is configured to.
		fake.SetNotifyURL(strings.TrimRight(cfg.PublicURL, "/") + "/api/v1/notify/bank-debit")
		app.closers = append(app.closers, fake.Close)
		app.svc.Bank = fake.Client()
		app.svc.Tripartite = fake.Client()
	}
	for _, a := range sandboxStaff {
		if err := app.svc.SeedStaffAccount(ctx, a.username, a.role, sandboxStaffPassword, sandboxStaffTOTP); err != nil {
			return fmt.Errorf("seed sandbox staff: %w", err)
		}
	}
	app.log.Info("sandbox hall accounts ready", "usernames", "tax1 si1 mi1 admin1 auditor1", "totp_secret", "sandbox fixed (see API.md)")
	return nil
}
