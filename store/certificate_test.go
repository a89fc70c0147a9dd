package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A certificate's PDF is stored byte for byte, and on PostgreSQL without
// TOAST compression (migrations/0019): the PDF is deflated already, and
// pglz only spent PostgreSQL's CPU finding that out on every issue.
func TestCertificatePDFsAreStoredAsRenderedWithoutRecompressing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		// Compressible on purpose: PostgreSQL's default storage would
		// have compressed this one, so only the column's storage keeps
		// it as it is.
		pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("0 0 0 rg 50 700 m 545 700 l S\n"), 1000)...)
		row := store.CertificateRow{CertificateNo: "C1", Kind: "payment_voucher", PersonID: "p1", IssuedByUserID: "us1",
			Scheme: "flexible_pension", PeriodFrom: "202601", PeriodTo: "202601", OrderNo: "o1", TotalFen: 98140, LineCount: 1,
			Canonical: []byte("c"), Signature: []byte("s"), KeyID: "k", Algorithm: "ed25519", PDF: pdf,
			IssuedAt: time.Date(2026, 1, 15, 2, 30, 0, 0, time.UTC)}
		if err := db.Gorm.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		var got store.CertificateRow
		if err := db.Gorm.Where("certificate_no = ?", "C1").Take(&got).Error; err != nil || !bytes.Equal(got.PDF, pdf) {
			t.Fatalf("PDF read back %d bytes (want %d), %v", len(got.PDF), len(pdf), err)
		}
		if db.Dialect != store.Postgres {
			return
		}
		var method *string
		if err := db.Gorm.Raw("SELECT pg_column_compression(pdf) FROM certificates WHERE certificate_no = ?", "C1").Scan(&method).Error; err != nil {
			t.Fatal(err)
		}
		if method != nil {
			t.Fatalf("the PDF was stored compressed with %s", *method)
		}
	})
}
