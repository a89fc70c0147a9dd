package hall_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
	"github.com/pquerna/otp/totp"
)

func staffTry(t *testing.T, envSvc *service.Service, clock *models.ManualClock, username, password, secret string) (hall.StaffLoginResult, error) {
	t.Helper()
	code, err := totp.GenerateCode(secret, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return envSvc.LoginStaff(context.Background(), hall.StaffLoginInput{Username: username, Password: password, TOTP: code}, servicetest.HallMeta)
}

func TestStaffLoginNeedsPasswordAndTOTPAndLocksAfterFiveFailuresInAWindow(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, db *store.DB, r *store.Redis) {
		env := servicetest.NewEnvOn(t, db, r)
		servicetest.SeedHall(t, env)
		svc, clock := env.Svc, env.Clock
		step := func() { clock.Advance(30 * time.Second) } // a fresh TOTP step
		try := func(password, secret string) error {
			t.Helper()
			_, err := staffTry(t, svc, clock, "tax1", password, secret)
			return err
		}
		if _, err := staffTry(t, svc, clock, "nobody", servicetest.HallPassword, servicetest.HallTOTP); !errors.Is(err, models.ErrStaffLoginFailed) {
			t.Fatalf("unknown user: %v", err)
		}
		if _, err := svc.LoginStaff(context.Background(), hall.StaffLoginInput{Username: "tax1", Password: servicetest.HallPassword}, servicetest.HallMeta); !errors.Is(err, models.ErrStaffLoginFailed) {
			t.Fatalf("no TOTP code: %v", err)
		}
		// Four failures (a wrong password, wrong TOTP codes) and then the
		// right credentials: in, and the count starts again.
		for i, pw := range []string{"wrong", servicetest.HallPassword, servicetest.HallPassword} {
			secret := servicetest.HallTOTP
			if i > 0 {
				secret = "GEZDGNBVGY3TQOJQ" // another device's codes
			}
			if err := try(pw, secret); !errors.Is(err, models.ErrStaffLoginFailed) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		step()
		if err := try(servicetest.HallPassword, servicetest.HallTOTP); err != nil {
			t.Fatalf("right credentials after 3 failures: %v", err)
		}
		// The same code twice is refused (and counts).
		if err := try(servicetest.HallPassword, servicetest.HallTOTP); !errors.Is(err, models.ErrStaffLoginFailed) {
			t.Fatalf("a TOTP code used twice: %v", err)
		}
		for i := 0; i < 3; i++ {
			if err := try("wrong", servicetest.HallTOTP); !errors.Is(err, models.ErrStaffLoginFailed) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		if err := try("wrong", servicetest.HallTOTP); !errors.Is(err, models.ErrStaffLocked) {
			t.Fatalf("the fifth failure in 15 minutes: %v", err)
		}
		step()
		if err := try(servicetest.HallPassword, servicetest.HallTOTP); !errors.Is(err, models.ErrStaffLocked) {
			t.Fatalf("right credentials while locked: %v", err)
		}
		clock.Advance(15 * time.Minute)
		if err := try(servicetest.HallPassword, servicetest.HallTOTP); err != nil {
			t.Fatalf("after the lock ran out: %v", err)
		}
		// Failures spread over more than the window never lock.
		for round := 0; round < 3; round++ {
			for i := 0; i < 4; i++ {
				if err := try("wrong", servicetest.HallTOTP); !errors.Is(err, models.ErrStaffLoginFailed) {
					t.Fatalf("round %d failure %d: %v", round, i, err)
				}
			}
			clock.Advance(16 * time.Minute)
		}
		if err := try(servicetest.HallPassword, servicetest.HallTOTP); err != nil {
			t.Fatalf("after spread-out failures: %v", err)
		}
		if n := servicetest.Count(t, db, "audit_log", "action = ? AND outcome = ?", "staff.locked", kernel.AuditOK); n != 1 {
			t.Fatalf("%d lock entries", n)
		}
		if n := servicetest.Count(t, db, "audit_log", "action = ? AND outcome = ? AND username = ?", "staff.login", kernel.AuditFailed, "tax1"); n < 18 {
			t.Fatalf("%d failed logins recorded", n)
		}
		var row store.StaffAccountRow
		if err := db.Gorm.Where("username = ?", "tax1").Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(row.PasswordHash, "$argon2id$v=19$") || strings.Contains(row.TOTPSealed, servicetest.HallTOTP) {
			t.Fatalf("credentials at rest: %q %q", row.PasswordHash, row.TOTPSealed)
		}
	})
}

func TestStaffSessionsEndWhenIdleTooOldDisabledOrReset(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, db *store.DB, r *store.Redis) {
		ctx := context.Background()
		env := servicetest.NewEnvOn(t, db, r)
		servicetest.SeedHall(t, env)
		svc, clock := env.Svc, env.Clock
		login := func(user, pw, secret string) string {
			t.Helper()
			res, err := staffTry(t, svc, clock, user, pw, secret)
			if err != nil {
				t.Fatalf("login %s: %v", user, err)
			}
			clock.Advance(30 * time.Second)
			return res.Token
		}
		alive := func(token string) bool {
			_, err := svc.AuthenticateStaff(ctx, token, servicetest.HallMeta)
			if err != nil && !errors.Is(err, models.ErrUnauthenticated) {
				t.Fatal(err)
			}
			return err == nil
		}
		tok := login("tax1", servicetest.HallPassword, servicetest.HallTOTP)
		clock.Advance(29 * time.Minute)
		if !alive(tok) {
			t.Fatal("ended before 30 idle minutes")
		}
		clock.Advance(29 * time.Minute)
		if !alive(tok) {
			t.Fatal("use did not slide the session")
		}
		clock.Advance(31 * time.Minute)
		if alive(tok) {
			t.Fatal("alive after 31 idle minutes")
		}
		tok = login("tax1", servicetest.HallPassword, servicetest.HallTOTP)
		for i := 0; i < 35; i++ { // 11 h 40 min of steady use
			clock.Advance(20 * time.Minute)
			if !alive(tok) {
				t.Fatalf("ended while in use after %d min", (i+1)*20)
			}
		}
		clock.Advance(21 * time.Minute)
		if alive(tok) {
			t.Fatal("alive after 12 hours")
		}
		// Citizen and staff tokens open only their own doors.
		cres, err := svc.LoginSandbox(ctx, "zhang")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AuthenticateStaff(ctx, cres.Token, servicetest.HallMeta); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("a citizen token as staff: %v", err)
		}
		tok = login("tax1", servicetest.HallPassword, servicetest.HallTOTP)
		if _, err := svc.Authenticate(ctx, tok); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("a staff token as citizen: %v", err)
		}
		// Disabling ends the sessions; an admin cannot disable themselves.
		adminTok := login("admin1", servicetest.HallPassword, servicetest.HallTOTP)
		admin, err := svc.AuthenticateStaff(ctx, adminTok, servicetest.HallMeta)
		if err != nil {
			t.Fatal(err)
		}
		taxMe, err := svc.AuthenticateStaff(ctx, tok, servicetest.HallMeta)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DisableStaffAccount(ctx, admin, admin.StaffID); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("disabling oneself: %v", err)
		}
		if _, err := svc.DisableStaffAccount(ctx, taxMe, admin.StaffID); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("the tax window disabling the admin: %v", err)
		}
		acct, err := svc.DisableStaffAccount(ctx, admin, taxMe.StaffID)
		if err != nil || acct.Status != hall.StaffDisabled {
			t.Fatalf("disable %+v %v", acct, err)
		}
		if alive(tok) {
			t.Fatal("a disabled account's session lives on")
		}
		if _, err := staffTry(t, svc, clock, "tax1", servicetest.HallPassword, servicetest.HallTOTP); !errors.Is(err, models.ErrStaffLoginFailed) {
			t.Fatalf("a disabled account logging in: %v", err)
		}
		// A reset ends the sessions of the old credentials, and the new
		// ones work.
		siTok := login("si1", servicetest.HallPassword, servicetest.HallTOTP)
		si, _ := svc.AuthenticateStaff(ctx, siTok, servicetest.HallMeta)
		creds, err := svc.ResetStaffAccount(ctx, admin, si.StaffID)
		if err != nil || len(creds.Password) != 20 || creds.TOTPSecret == "" || !strings.HasPrefix(creds.OTPAuthURL, "otpauth://totp/") {
			t.Fatalf("reset %+v %v", creds, err)
		}
		if alive(siTok) {
			t.Fatal("a session of reset credentials lives on")
		}
		if _, err := staffTry(t, svc, clock, "si1", servicetest.HallPassword, servicetest.HallTOTP); !errors.Is(err, models.ErrStaffLoginFailed) {
			t.Fatalf("old credentials after a reset: %v", err)
		}
		login("si1", creds.Password, creds.TOTPSecret)
		// Creating accounts.
		made, err := svc.CreateStaffAccount(ctx, admin, hall.StaffAccountInput{Username: "Tax2", Role: models.RoleTaxWindow})
		if err != nil || made.Account.Username != "tax2" || made.Account.Department != models.DeptTax {
			t.Fatalf("create %+v %v", made, err)
		}
		login("tax2", made.Password, made.TOTPSecret)
		if _, err := svc.CreateStaffAccount(ctx, admin, hall.StaffAccountInput{Username: "tax2", Role: models.RoleTaxWindow}); !errors.Is(err, models.ErrStaffExists) {
			t.Fatalf("a taken username: %v", err)
		}
		if _, err := svc.CreateStaffAccount(ctx, admin, hall.StaffAccountInput{Username: "boss", Role: "boss"}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("an unknown role: %v", err)
		}
		list, _, err := svc.ListStaffAccounts(ctx, admin, kernel.Page{Size: 100})
		if err != nil || len(list) != 6 {
			t.Fatalf("list %d %v", len(list), err)
		}
	})
}

func TestBootstrapCreatesTheFirstAdminOnly(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		if _, err := env.Svc.BootstrapStaff(ctx, "root", models.RoleTaxWindow); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("bootstrapping a tax window: %v", err)
		}
		creds, err := env.Svc.BootstrapStaff(ctx, "root", models.RoleAdmin)
		if err != nil || creds.Account.Role != models.RoleAdmin {
			t.Fatalf("bootstrap %+v %v", creds, err)
		}
		if _, err := env.Svc.BootstrapStaff(ctx, "root2", models.RoleAdmin); !errors.Is(err, models.ErrStaffExists) {
			t.Fatalf("a second bootstrap: %v", err)
		}
		if _, err := staffTry(t, env.Svc, env.Clock, "root", creds.Password, creds.TOTPSecret); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTheAuditLogIsAppendOnlyAndSaysWhoWhatWhenAndFromWhere(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, OrderNo: p.OrderNo, RefundFen: 100})
		if _, err := env.Svc.GetStaffRefund(ctx, h.Tax, r.RefundNo); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.RefuseRefund(ctx, h.Tax, r.RefundNo, []string{"=HYPERLINK(\"http://x\")", "材料不全"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.Svc.ListAudit(ctx, h.Admin, hall.AuditFilter{}, kernel.Page{Size: 10}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("the admin reading the audit log: %v", err)
		}
		entries, _, err := env.Svc.ListAudit(ctx, h.Auditor, hall.AuditFilter{TargetID: r.RefundNo}, kernel.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
			if e.Username != "tax1" || e.Role != "tax_window" || e.ClientIP != "10.1.2.3" || e.PeerIP != "127.0.0.1" || e.RequestID != "test-request" || e.At.IsZero() {
				t.Fatalf("entry %+v", e)
			}
		}
		if strings.Join(actions, ",") != "refund.refuse,refund.read" {
			t.Fatalf("actions %v", actions)
		}
		denied, _, err := env.Svc.ListAudit(ctx, h.Auditor, hall.AuditFilter{Outcome: kernel.AuditDenied}, kernel.Page{Size: 10})
		if err != nil || len(denied) != 1 || denied[0].Username != "admin1" || denied[0].Action != "audit.list" {
			t.Fatalf("denied %+v %v", denied, err)
		}
		// Paging walks everything once, newest first.
		var all []hall.AuditEntry
		page := kernel.Page{Size: 3}
		for {
			es, next, err := env.Svc.ListAudit(ctx, h.Auditor, hall.AuditFilter{}, page)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, es...)
			if next == "" {
				break
			}
			page.After = next
		}
		total := servicetest.Count(t, db, "audit_log", "id IS NOT NULL")
		if int64(len(all)) >= total || len(all) < 10 {
			t.Fatalf("paged %d of %d", len(all), total)
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Fatalf("not newest first at %d", i)
			}
		}
		var buf bytes.Buffer
		if err := env.Svc.ExportAudit(ctx, h.Auditor, hall.AuditFilter{Action: "refund.refuse"}, &buf); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
		if err != nil || len(recs) != 2 || recs[0][5] != "action" || recs[1][5] != "refund.refuse" || recs[1][7] != r.RefundNo {
			t.Fatalf("export %q %v", buf.String(), err)
		}
		if !strings.HasPrefix(recs[1][9], "'=HYPERLINK") {
			t.Fatalf("a formula cell was exported live: %q", recs[1][9])
		}
		if n := servicetest.Count(t, db, "audit_log", "action = ? AND username = ?", "audit.export", "auditor1"); n != 1 {
			t.Fatalf("the export was not recorded: %d", n)
		}
		// Nobody can edit it, not even with the database's own rights.
		for _, stmt := range []string{"UPDATE audit_log SET detail = 'edited'", "DELETE FROM audit_log",
			"UPDATE refund_events SET note = 'edited'", "DELETE FROM refund_events"} {
			if err := db.Gorm.Exec(stmt).Error; err == nil {
				t.Fatalf("%s succeeded", stmt)
			}
		}
		if n := servicetest.Count(t, db, "audit_log", "detail = ?", "edited"); n != 0 || servicetest.Count(t, db, "audit_log", "id IS NOT NULL") < total {
			t.Fatal("the audit log changed")
		}
	})
}
