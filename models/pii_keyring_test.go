package models

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func ring(t *testing.T, keys ...PIIKey) *PIICipher {
	t.Helper()
	c, err := NewPIIKeyring(PIIKeyring{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAKeyringSealsWithItsNewestKeyAndOpensWhatEveryKeySealed(t *testing.T) {
	legacy := PIIKey{ID: LegacyPIIKeyID, Secret: testKey(1)}
	k2 := PIIKey{ID: "k2", Secret: testKey(2)}
	old := mustCipher(t, legacy.Secret)
	oldSealed, _ := old.Seal("王小明")
	oldFile, _ := old.SealBytes([]byte("%PDF-1.7 old"), "blob/1")
	oldIndex := old.BlindIndex("id_number", "150102199003071237")

	both := ring(t, legacy, k2)
	newSealed, err := both.Seal("王小明")
	if err != nil || !strings.HasPrefix(newSealed, "v2.aes.k2:") {
		t.Fatalf("the newest key did not seal: %q %v", newSealed, err)
	}
	for _, v := range []string{oldSealed, newSealed} {
		if got, err := both.Open(v); err != nil || got != "王小明" {
			t.Fatalf("Open(%q) = %q, %v", v, got, err)
		}
	}
	if got, err := both.OpenBytes(oldFile, "blob/1"); err != nil || string(got) != "%PDF-1.7 old" {
		t.Fatalf("old file: %q %v", got, err)
	}
	newFile, _ := both.SealBytes([]byte("%PDF-1.7 new"), "blob/2")
	if !bytes.HasPrefix(newFile, []byte("LBS2")) || !both.IsCurrentBytes(newFile) || both.IsCurrentBytes(oldFile) {
		t.Fatalf("new file header %q", newFile[:12])
	}
	if _, err := both.OpenBytes(newFile, "blob/1"); err == nil {
		t.Fatal("a file opened under another bind")
	}
	if _, err := old.Open(newSealed); err == nil {
		t.Fatal("the old single-key cipher opened a value of a key it does not have")
	}
	// Writes index under the newest key, lookups match either.
	ix := both.BlindIndexes("id_number", "150102199003071237")
	if len(ix) != 2 || ix[0] != both.BlindIndex("id_number", "150102199003071237") || ix[1] != oldIndex || ix[0] == oldIndex {
		t.Fatalf("indexes %v, old %s", ix, oldIndex)
	}
	if !both.IsCurrent(newSealed) || both.IsCurrent(oldSealed) || !both.IsCurrent("") || both.Current() != "aes.k2" {
		t.Fatal("IsCurrent or Current is wrong")
	}
	// A single legacy key is exactly the cipher of before the keyring.
	if got := old.BlindIndexes("id_number", "x"); len(got) != 1 || got[0] != old.BlindIndex("id_number", "x") {
		t.Fatalf("single-key indexes %v", got)
	}
}

func TestARelabelledValueDoesNotOpen(t *testing.T) {
	c := ring(t, PIIKey{ID: "a", Secret: testKey(1)}, PIIKey{ID: "b", Secret: testKey(1)})
	sealed, _ := c.Seal("x")
	relabelled := strings.Replace(sealed, "v2.aes.b:", "v2.aes.a:", 1)
	if _, err := c.Open(relabelled); err == nil {
		t.Fatal("a value moved to another key id (same secret) opened: the header is not authenticated")
	}
}

func TestKeyringConfigurationIsChecked(t *testing.T) {
	for name, r := range map[string]PIIKeyring{
		"no key":           {},
		"a duplicate id":   {Keys: []PIIKey{{ID: "a", Secret: testKey(1)}, {ID: "a", Secret: testKey(2)}}},
		"an id with a dot": {Keys: []PIIKey{{ID: "a.b", Secret: testKey(1)}}},
		"a long id":        {Keys: []PIIKey{{ID: "abcdefghi", Secret: testKey(1)}}},
		"a short key":      {Keys: []PIIKey{{ID: "a", Secret: testKey(1)[:16]}}},
	} {
		if _, err := NewPIIKeyring(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestARotationRollsOutInTwoPhases: instances of one database during a
// rolling restart. Phase 1 gives every instance the new key k1 while k0
// still writes, so an instance not restarted yet and a restarted one read
// each other's values and find each other's index; phase 2 lets k1 write,
// which every instance of phase 1 reads and finds. Only an instance that
// skipped phase 1 cannot.
func TestARotationRollsOutInTwoPhases(t *testing.T) {
	k0, k1 := PIIKey{ID: "k0", Secret: testKey(1)}, PIIKey{ID: "k1", Secret: testKey(2)}
	mk := func(r PIIKeyring) *PIICipher {
		t.Helper()
		c, err := NewPIIKeyring(r)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const number = "150102199003071237"
	interoperate := func(when string, a, b *PIICipher) {
		t.Helper()
		for _, p := range [][2]*PIICipher{{a, b}, {b, a}} {
			sealed, _ := p[0].Seal("王小明")
			if got, err := p[1].Open(sealed); err != nil || got != "王小明" {
				t.Fatalf("%s: a value of %s does not open: %v", when, p[0].Current(), err)
			}
			file, _ := p[0].SealBytes([]byte("%PDF"), "blob/1")
			if got, err := p[1].OpenBytes(file, "blob/1"); err != nil || string(got) != "%PDF" {
				t.Fatalf("%s: a file of %s does not open: %v", when, p[0].Current(), err)
			}
			if !slices.Contains(p[1].BlindIndexes("id_number", number), p[0].BlindIndex("id_number", number)) {
				t.Fatalf("%s: a person indexed by %s is not found", when, p[0].Current())
			}
		}
	}
	before := mk(PIIKeyring{Keys: []PIIKey{k0}})
	phase1 := mk(PIIKeyring{Keys: []PIIKey{k0, k1}, WriteKey: "k0"})
	if phase1.Current() != "aes.k0" || phase1.BlindIndex("id_number", number) != before.BlindIndex("id_number", number) {
		t.Fatalf("phase 1 writes with %s", phase1.Current())
	}
	interoperate("phase 1", before, phase1)

	phase2 := mk(PIIKeyring{Keys: []PIIKey{k0, k1}, WriteKey: "k1"})
	if phase2.Current() != "aes.k1" || mk(PIIKeyring{Keys: []PIIKey{k0, k1}}).Current() != "aes.k1" {
		t.Fatal("the writing key is not k1 (named, or by default the newest)")
	}
	interoperate("phase 2", phase1, phase2)
	sealed, _ := phase2.Seal("x")
	if !phase2.IsCurrent(sealed) || phase1.IsCurrent(sealed) {
		t.Fatal("IsCurrent does not follow the writing key")
	}
	// Why phase 1: an instance that knows k0 alone neither opens nor
	// finds what k1 wrote.
	if _, err := before.Open(sealed); err == nil || slices.Contains(before.BlindIndexes("id_number", number), phase2.BlindIndex("id_number", number)) {
		t.Fatal("a cipher without k1 read k1's values")
	}
	if _, err := NewPIIKeyring(PIIKeyring{Keys: []PIIKey{k0}, WriteKey: "k1"}); err == nil {
		t.Fatal("a writing key outside the keyring was accepted")
	}
}
