package models

import (
	"bytes"
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
