package rekey_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/guomi"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/rekey"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/blob"
	"github.com/lianban/lianban/store/storetest"
)

var (
	k0 = models.PIIKey{ID: models.LegacyPIIKeyID, Secret: bytes.Repeat([]byte{1}, 32)}
	k2 = models.PIIKey{ID: "k2", Secret: bytes.Repeat([]byte{2}, 32)}
	k3 = models.PIIKey{ID: "k3", Secret: bytes.Repeat([]byte{3}, 32)}
)

func smRing(t *testing.T, keys ...models.PIIKey) *models.PIICipher {
	t.Helper()
	c, err := models.NewPIIKeyring(models.PIIKeyring{Keys: keys, Suite: guomi.SM4Suite(), Previous: []models.PIISuite{models.AESSuite()}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func seal(t *testing.T, c *models.PIICipher, v string) string {
	t.Helper()
	s, err := c.Seal(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// idNumber is the i-th person's (made-up, not checked here) ID number.
func idNumber(i int) string { return fmt.Sprintf("15010219900307%04d", i) }

// seed writes persons p01…p07, users and an agreement as the service did
// under the legacy key and AES, before the keyring.
func seed(t *testing.T, db *store.DB, legacy *models.PIICipher) {
	t.Helper()
	g := db.Gorm
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 7; i++ {
		row := store.PersonRow{ID: fmt.Sprintf("p%02d", i), IDIndex: legacy.BlindIndex("id_number", idNumber(i)),
			IDSealed: seal(t, legacy, idNumber(i)), NameSealed: seal(t, legacy, fmt.Sprintf("张%d", i)), BirthDate: "1990-03-07", CreatedAt: now}
		if err := g.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i, phone := range []string{"13800000001", "", "13800000003"} {
		row := store.UserRow{ID: fmt.Sprintf("u%d", i), Channel: "sandbox", Subject: fmt.Sprintf("s%d", i), PhoneSealed: seal(t, legacy, phone), CreatedAt: now}
		if err := g.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
	}
	ag := store.TripartiteAgreementRow{ID: "ta1", UnitID: "un1", AgreementNo: "A1", BankCode: "ICBC", AccountNameSealed: seal(t, legacy, "呼和浩特示范公司"),
		AccountNoSealed: seal(t, legacy, "6222020200001111"), AccountNoIndex: legacy.BlindIndex("bank_account", "6222020200001111"), Status: "verified", CreatedBy: "u0", CreatedAt: now}
	if err := g.Create(&ag).Error; err != nil {
		t.Fatal(err)
	}
}

// findAll looks every person up the way the service does (every key's
// index) and checks the name opens.
func findAll(t *testing.T, db *store.DB, c *models.PIICipher) {
	t.Helper()
	for i := 1; i <= 7; i++ {
		var row store.PersonRow
		if err := db.Gorm.Where("id_index IN ?", c.BlindIndexes("id_number", idNumber(i))).Take(&row).Error; err != nil {
			t.Fatalf("person %d not found: %v", i, err)
		}
		if name, err := c.Open(row.NameSealed); err != nil || name != fmt.Sprintf("张%d", i) {
			t.Fatalf("person %d: %q %v", i, name, err)
		}
	}
}

func persons(t *testing.T, db *store.DB) []store.PersonRow {
	var rows []store.PersonRow
	if err := db.Gorm.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func byTable(results []rekey.Result) map[string]rekey.Result {
	out := map[string]rekey.Result{}
	for _, r := range results {
		out[r.Table] = r
	}
	return out
}

var errCrash = errors.New("killed mid-pass")

func TestRekeyIsInterruptedResumesAndLeavesEveryoneFindable(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		legacy, err := models.NewPIICipher(k0.Secret)
		if err != nil {
			t.Fatal(err)
		}
		seed(t, db, legacy)
		sm := smRing(t, k0, k2)
		findAll(t, db, sm) // the keyring reads the old rows before any rekey

		// The first run dies after its second batch of persons.
		r := &rekey.Rekeyer{DB: db, PII: sm, Batch: 2, AfterBatch: func(table string, n int64) error {
			if table == "persons" && n == 4 {
				return errCrash
			}
			return nil
		}}
		if _, err := r.Run(ctx); !errors.Is(err, errCrash) {
			t.Fatalf("first run: %v", err)
		}
		var p store.RekeyProgressRow
		if err := db.Gorm.Where("table_name = ?", "persons").Take(&p).Error; err != nil || p.CursorID != "p04" || p.Done || p.Target != "sm4.k2" || p.RowsRekeyed != 4 {
			t.Fatalf("progress after the crash: %+v %v", p, err)
		}
		for i, row := range persons(t, db) {
			if got := strings.HasPrefix(row.IDSealed, "v2.sm4.k2:") && strings.HasPrefix(row.NameSealed, "v2.sm4.k2:"); got != (i < 4) {
				t.Fatalf("mid-pass, %s rekeyed = %v", row.ID, got)
			}
		}
		// Half old, half new: the service still finds and reads everyone.
		findAll(t, db, sm)

		// A new person the service registers meanwhile is written under
		// the newest key; rekey leaves them alone.
		fresh := store.PersonRow{ID: "p08", IDIndex: sm.BlindIndex("id_number", idNumber(8)), IDSealed: seal(t, sm, idNumber(8)),
			NameSealed: seal(t, sm, "张8"), BirthDate: "1990-03-07", CreatedAt: time.Now().UTC()}
		if err := db.Gorm.Create(&fresh).Error; err != nil {
			t.Fatal(err)
		}

		// The resumed run starts after p04.
		r.AfterBatch = nil
		results, err := r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := byTable(results)
		if pr := got["persons"]; pr.Scanned != 4 || pr.Rekeyed != 3 || pr.Total != 7 {
			t.Fatalf("resumed persons: %+v", pr)
		}
		if u := got["users"]; u.Rekeyed != 2 || u.Scanned != 3 {
			t.Fatalf("users: %+v", u) // the empty phone stays empty
		}
		if a := got["tripartite_agreements"]; a.Rekeyed != 1 {
			t.Fatalf("agreements: %+v", a)
		}
		for _, row := range persons(t, db) {
			id, err := sm.Open(row.IDSealed)
			if err != nil || !sm.IsCurrent(row.IDSealed) || !sm.IsCurrent(row.NameSealed) || row.IDIndex != sm.BlindIndex("id_number", id) {
				t.Fatalf("%s not rekeyed: %s %s", row.ID, row.IDSealed[:12], row.IDIndex)
			}
			if _, err := legacy.Open(row.IDSealed); err == nil {
				t.Fatalf("%s still opens with the old key alone", row.ID)
			}
		}
		var ag store.TripartiteAgreementRow
		db.Gorm.Take(&ag)
		if !sm.IsCurrent(ag.AccountNoSealed) || ag.AccountNoIndex != sm.BlindIndex("bank_account", "6222020200001111") {
			t.Fatalf("agreement not rekeyed: %+v", ag)
		}
		var u store.UserRow
		db.Gorm.Where("id = ?", "u1").Take(&u)
		if u.PhoneSealed != "" {
			t.Fatalf("an empty phone became %q", u.PhoneSealed)
		}

		// Done: the old key can leave the keyring and everyone is found.
		findAll(t, db, smRing(t, k2))

		// Another run for the same target does nothing.
		results, err = r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range results {
			if !res.Skipped || res.Scanned != 0 {
				t.Fatalf("a finished pass ran again: %+v", res)
			}
		}

		// A new key is a new target: the pass starts over.
		r3 := &rekey.Rekeyer{DB: db, PII: smRing(t, k2, k3), Batch: 3}
		results, err = r3.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pr := byTable(results)["persons"]; pr.Rekeyed != 8 || pr.Skipped {
			t.Fatalf("rotation to k3: %+v", pr)
		}
		findAll(t, db, smRing(t, k3))
	})
}

func TestRekeyStopsAtAValueNoConfiguredKeyOpens(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		legacy, _ := models.NewPIICipher(k0.Secret)
		seed(t, db, legacy)
		// k0 dropped before its rows were rekeyed.
		r := &rekey.Rekeyer{DB: db, PII: smRing(t, k2)}
		_, err := r.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "persons id=p01") || !strings.Contains(err.Error(), "does not open") {
			t.Fatalf("want the row named, got %v", err)
		}
		// Nothing was changed: the batch rolled back.
		for _, row := range persons(t, db) {
			if !strings.HasPrefix(row.IDSealed, "v1:") {
				t.Fatalf("%s changed", row.ID)
			}
		}
	})
}

func TestSuitesInUseAreNotedOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if got, err := rekey.SuitesInUse(ctx, db); err != nil || len(got) != 0 {
			t.Fatalf("fresh database: %v %v", got, err)
		}
		for range 2 {
			if err := rekey.NoteSuite(ctx, db, "sm4", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := rekey.SuitesInUse(ctx, db); err != nil || len(got) != 1 || got[0] != "sm4" {
			t.Fatalf("noted: %v %v", got, err)
		}
	})
}

func TestRekeyRewritesUploadedFilesInPlace(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	ctx := context.Background()
	blobs, err := blob.NewFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := models.NewPIICipher(k0.Secret)
	plain := []byte("%PDF-1.7 a unit's refund materials")
	for i, key := range []string{"uploads/upl1", "uploads/upl2"} {
		sealed, _ := legacy.SealBytes(plain, key)
		if err := blobs.Put(ctx, key, bytes.NewReader(sealed), int64(len(sealed)), "application/pdf"); err != nil {
			t.Fatal(err)
		}
		row := store.UploadRow{ID: fmt.Sprintf("upl%d", i+1), OwnerUserID: "u1", Size: int64(len(plain)), ContentType: "application/pdf", BlobKey: key, CreatedAt: time.Now()}
		if err := db.Gorm.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
	}
	// One upload's blob is gone (purged): it is skipped, not an error.
	gone := store.UploadRow{ID: "upl3", OwnerUserID: "u1", ContentType: "application/pdf", BlobKey: "uploads/upl3", CreatedAt: time.Now()}
	db.Gorm.Create(&gone)

	sm := smRing(t, k0, k2)
	results, err := (&rekey.Rekeyer{DB: db, PII: sm, Blobs: blobs}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u := byTable(results)["uploads"]; u.Rekeyed != 2 || u.Scanned != 3 {
		t.Fatalf("uploads: %+v", u)
	}
	for _, key := range []string{"uploads/upl1", "uploads/upl2"} {
		rc, err := blobs.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		sealed, _ := io.ReadAll(rc)
		rc.Close()
		got, err := smRing(t, k2).OpenBytes(sealed, key)
		if err != nil || !bytes.Equal(got, plain) || !sm.IsCurrentBytes(sealed) {
			t.Fatalf("%s after rekey: %v", key, err)
		}
	}
}
