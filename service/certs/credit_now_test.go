package certs_test

import (
	"context"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestATaxCertificateAsksTheTreasuryAboutMonthsStillWaiting: the worker
// asks about a waiting order up to half an hour apart (back-off), so a
// payer could be told "尚未入库" about money the treasury had credited.
// The certificate now asks at once: credited, it is issued without a
// worker pass; no answer, the refusal stands (it is a certificate, never a
// reason to fail the request).
func TestATaxCertificateAsksTheTreasuryAboutMonthsStillWaiting(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, treasury := servicetest.NewEnvWithTreasury(t, db)
		z := zhang(t, env)
		tax := rangeOf(models.CertTaxPayment, "202611", "202612")

		treasury.Answer(func(string) string { return servicetest.TreasuryDown })
		_, err := env.Svc.IssueCertificate(ctx, z.sess.UserID, tax)
		wantErr(t, "treasury down", err, models.ErrCertificateNotCredited)
		if n := treasury.Asks(z.orderNo); n != 1 {
			t.Fatalf("treasury asked %d times, want once", n)
		}

		// Asking again at once does not ask the treasury again: a refusal
		// invites repeats, and each would be a treasury call.
		treasury.Answer(func(string) string { return servicetest.TreasuryDone })
		_, err = env.Svc.IssueCertificate(ctx, z.sess.UserID, tax)
		wantErr(t, "asked again within the gap", err, models.ErrCertificateNotCredited)
		if n := treasury.Asks(z.orderNo); n != 1 {
			t.Fatalf("treasury asked %d times within seconds, want once", n)
		}

		env.Clock.Advance(11 * time.Second)
		treasury.Answer(func(string) string { return servicetest.TreasuryPending })
		_, err = env.Svc.IssueCertificate(ctx, z.sess.UserID, tax)
		wantErr(t, "not credited yet", err, models.ErrCertificateNotCredited)
		env.Clock.Advance(11 * time.Second)

		// Credited since: issued at once, and the records say so.
		treasury.Answer(func(string) string { return servicetest.TreasuryDone })
		c := issueCert(t, env, z.sess.UserID, tax)
		if c.LineCount != 2 || c.TotalFen != 2*98140 {
			t.Fatalf("tax certificate %+v", c)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", z.orderNo, "credited"); n != 2 {
			t.Fatalf("%d records credited, want 2", n)
		}
		// Credited months are not asked about again.
		asked := treasury.Asks(z.orderNo)
		issueCert(t, env, z.sess.UserID, tax)
		if n := treasury.Asks(z.orderNo); n != asked {
			t.Fatalf("treasury asked again about a credited order (%d → %d)", asked, n)
		}
	})
}
