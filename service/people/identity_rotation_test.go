package people_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lianban/lianban/guomi"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/rekey"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAKeyRotationRollsOutInTwoPhasesWithoutADuplicatePerson: instances
// of one database bind people while a new PII key is rolled out. In
// phase 1 (every instance reads k1, all still write k0) and phase 2 (k1
// writes, everyone reads it) each instance finds the people the others
// registered, so a person has one row. An instance that never learnt k1
// misses a person indexed under it and registers them again; rekey then
// stops naming both rows instead of failing on the unique index.
func TestAKeyRotationRollsOutInTwoPhasesWithoutADuplicatePerson(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		k0 := models.PIIKey{ID: "k0", Secret: bytes.Repeat([]byte{1}, 32)}
		k1 := models.PIIKey{ID: "k1", Secret: bytes.Repeat([]byte{2}, 32)}
		keyring := func(r models.PIIKeyring) *models.PIICipher {
			c, err := models.NewPIIKeyring(r)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		instance := func(pii *models.PIICipher) *servicetest.Env {
			return servicetest.New(t, db, servicetest.Config{Mutate: func(d *service.Deps, _ *service.Options) { d.PII = pii }})
		}
		before := instance(keyring(models.PIIKeyring{Keys: []models.PIIKey{k0}}))
		phase1 := instance(keyring(models.PIIKeyring{Keys: []models.PIIKey{k0, k1}, WriteKey: "k0"}))
		phase2Ring := keyring(models.PIIKeyring{Keys: []models.PIIKey{k0, k1}})
		phase2 := instance(phase2Ring)
		rows := func(name string) []store.PersonRow {
			t.Helper()
			var out []store.PersonRow
			ix := phase2Ring.BlindIndexes("id_number", servicetest.Person(t, name).IDNumber)
			if err := db.Gorm.Where("id_index IN ?", ix).Order("id").Find(&out).Error; err != nil {
				t.Fatal(err)
			}
			return out
		}
		bind := func(env *servicetest.Env, subject, name string) {
			t.Helper()
			env.LoginVerified(t, subject, name, servicetest.Person(t, name).IDNumber)
		}

		// Phase 1 beside instances not restarted yet: both write k0.
		bind(before, "a1", "张三明")
		bind(phase1, "a2", "张三明")
		bind(phase1, "b1", "李秀英")
		bind(before, "b2", "李秀英")
		// Phase 2 beside instances still in phase 1: k1 and k0 writers.
		bind(phase2, "c1", "王建国")
		bind(phase1, "c2", "王建国")
		bind(phase1, "d1", "赵海峰")
		bind(phase2, "d2", "赵海峰")
		for _, name := range []string{"张三明", "李秀英", "王建国", "赵海峰"} {
			if got := rows(name); len(got) != 1 {
				t.Fatalf("%s has %d person rows, want 1", name, len(got))
			}
		}
		if r := rows("王建国")[0]; !phase2Ring.IsCurrent(r.IDSealed) || r.IDIndex != phase2Ring.BlindIndex("id_number", servicetest.Person(t, "王建国").IDNumber) {
			t.Fatalf("phase 2 did not write with k1: %s", r.IDSealed[:10])
		}

		// Skipping phase 1: an instance that knows k0 alone registers
		// 王建国 again. Rekey names both rows and changes nothing.
		bind(before, "c3", "王建国")
		dup := rows("王建国")
		if len(dup) != 2 {
			t.Fatalf("the control did not duplicate: %d rows", len(dup))
		}
		_, err := (&rekey.Rekeyer{DB: db, PII: phase2Ring}).Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), dup[0].ID) || !strings.Contains(err.Error(), dup[1].ID) || !strings.Contains(err.Error(), "same id_number") {
			t.Fatalf("rekey over a duplicate person: %v", err)
		}
		for _, r := range rows("王建国") {
			if r.IDIndex != dup[0].IDIndex && r.IDIndex != dup[1].IDIndex {
				t.Fatal("rekey changed a duplicate row")
			}
		}
	})
}

// TestAnIntlInstanceFindsWhatAnSMInstanceRegistered: an instance writing
// AES (LIANBAN_CRYPTO=intl) while another already writes SM4 opens its
// values and finds its people by their HMAC-SM3 index, and the other way
// round.
func TestAnIntlInstanceFindsWhatAnSMInstanceRegistered(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	keys := []models.PIIKey{{ID: "k0", Secret: bytes.Repeat([]byte{1}, 32)}}
	intlRing, err := models.NewPIIKeyring(models.PIIKeyring{Keys: keys, Suite: models.AESSuite(), Previous: []models.PIISuite{guomi.SM4Suite()}})
	if err != nil {
		t.Fatal(err)
	}
	smRing, err := models.NewPIIKeyring(models.PIIKeyring{Keys: keys, Suite: guomi.SM4Suite(), Previous: []models.PIISuite{models.AESSuite()}})
	if err != nil {
		t.Fatal(err)
	}
	intl := servicetest.New(t, db, servicetest.Config{Mutate: func(d *service.Deps, _ *service.Options) { d.PII = intlRing }})
	sm := servicetest.New(t, db, servicetest.Config{Mutate: func(d *service.Deps, _ *service.Options) { d.PII = smRing }})
	for _, p := range []struct {
		name        string
		first, then *servicetest.Env
	}{{"张三明", sm, intl}, {"李秀英", intl, sm}} {
		number := servicetest.Person(t, p.name).IDNumber
		p.first.LoginVerified(t, "first-"+p.name, p.name, number)
		p.then.LoginVerified(t, "then-"+p.name, p.name, number)
		var rows []store.PersonRow
		db.Gorm.Where("id_index IN ?", intlRing.BlindIndexes("id_number", number)).Find(&rows)
		if len(rows) != 1 {
			t.Fatalf("%s has %d person rows, want 1", p.name, len(rows))
		}
		for _, c := range []*models.PIICipher{intlRing, smRing} {
			if got, err := c.Open(rows[0].NameSealed); err != nil || got != p.name {
				t.Fatalf("%s: %q %v", p.name, got, err)
			}
		}
	}
}
