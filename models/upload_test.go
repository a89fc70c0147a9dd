package models

import (
	"errors"
	"testing"
)

func TestSniffUploadByContentOnly(t *testing.T) {
	cases := []struct {
		name string
		head []byte
		want string
		ok   bool
	}{
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), ContentTypePDF, true},
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}, ContentTypeJPEG, true},
		{"png", []byte{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D}, ContentTypePNG, true},
		{"html", []byte("<!DOCTYPE html><html>"), "", false},
		{"pdf after junk", []byte("<html>%PDF-1.7"), "", false},
		{"truncated png", []byte{0x89, 'P', 'N', 'G', 0x0D, 0x0A}, "", false},
		{"gif", []byte("GIF89a"), "", false},
		{"zip", []byte("PK\x03\x04"), "", false},
		{"exe", []byte("MZ\x90\x00"), "", false},
		{"empty", nil, "", false},
		{"pdf lower case", []byte("%pdf-1.4"), "", false},
	}
	for _, c := range cases {
		got, ok := SniffUpload(c.head)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: SniffUpload = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestUploadErrorsAreTheirKinds(t *testing.T) {
	if ErrUploadTypeNotAllowed.Kind != KindUnsupportedType || ErrUploadTooLarge.Kind != KindTooLarge {
		t.Fatal("upload errors must map to 415 and 413")
	}
	if MaxUploadBytes != 10*1024*1024 {
		t.Fatalf("MaxUploadBytes = %d, the contract says 10 MB", MaxUploadBytes)
	}
}

func TestCheckBlobKey(t *testing.T) {
	good := []string{"uploads/2026/11/01HX3.pdf", "a", "a-b_c.d/e"}
	for _, k := range good {
		if err := CheckBlobKey(k); err != nil {
			t.Errorf("CheckBlobKey(%q) = %v", k, err)
		}
	}
	bad := []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/", `a\b`, "a b", "a/..", ".tmp-1", "a/.hidden", "名", "a\x00b", string(make([]byte, 201))}
	for _, k := range bad {
		if err := CheckBlobKey(k); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckBlobKey(%q) = %v, want ErrInvalid", k, err)
		}
	}
}

func TestCheckUpload(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}
	if ct, err := CheckUpload(MaxUploadBytes, png); err != nil || ct != ContentTypePNG {
		t.Fatalf("10 MB PNG: %q, %v", ct, err)
	}
	if _, err := CheckUpload(MaxUploadBytes+1, png); !errors.Is(err, ErrUploadTooLarge) {
		t.Fatalf("10 MB + 1 byte: err = %v, want ErrUploadTooLarge", err)
	}
	if _, err := CheckUpload(20, []byte("<svg onload=alert(1)>")); !errors.Is(err, ErrUploadTypeNotAllowed) {
		t.Fatalf("SVG: err = %v, want ErrUploadTypeNotAllowed", err)
	}
	if _, err := CheckUpload(0, nil); !errors.Is(err, ErrUploadTypeNotAllowed) {
		t.Fatalf("empty file: err = %v, want ErrUploadTypeNotAllowed", err)
	}
}
