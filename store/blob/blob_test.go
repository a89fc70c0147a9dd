package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lianban/lianban/models"
)

// exerciseStore runs the BlobStore contract every implementation keeps.
func exerciseStore(t *testing.T, s models.BlobStore) {
	ctx := context.Background()
	pdf := []byte("%PDF-1.7\n" + strings.Repeat("x", 70000))
	if err := s.Put(ctx, "uploads/2026/11/a1.pdf", bytes.NewReader(pdf), int64(len(pdf)), models.ContentTypePDF); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := read(t, s, "uploads/2026/11/a1.pdf"); !bytes.Equal(got, pdf) {
		t.Fatalf("Get returned %d bytes, want the %d put", len(got), len(pdf))
	}

	// Replacing is allowed and whole.
	png := []byte("\x89PNG\r\n\x1a\nreplaced")
	if err := s.Put(ctx, "uploads/2026/11/a1.pdf", bytes.NewReader(png), int64(len(png)), models.ContentTypePNG); err != nil {
		t.Fatalf("Put over: %v", err)
	}
	if got := read(t, s, "uploads/2026/11/a1.pdf"); !bytes.Equal(got, png) {
		t.Fatalf("after replace Get = %q", got)
	}

	// A reader shorter or longer than the size stores nothing.
	if err := s.Put(ctx, "uploads/short", bytes.NewReader([]byte("abc")), 10, "application/pdf"); err == nil {
		t.Fatal("short reader: Put succeeded")
	}
	if err := s.Put(ctx, "uploads/long", bytes.NewReader([]byte("abcdef")), 3, "application/pdf"); err == nil {
		t.Fatal("long reader: Put succeeded")
	}
	for _, k := range []string{"uploads/short", "uploads/long"} {
		if _, err := s.Get(ctx, k); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("%s after a failed Put: err = %v, want ErrNotFound", k, err)
		}
	}

	// Empty blobs are blobs.
	if err := s.Put(ctx, "empty", bytes.NewReader(nil), 0, "application/pdf"); err != nil {
		t.Fatalf("Put empty: %v", err)
	}
	if got := read(t, s, "empty"); len(got) != 0 {
		t.Fatalf("empty blob read %d bytes", len(got))
	}

	if _, err := s.Get(ctx, "uploads/none"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("Get missing: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "uploads/2026/11/a1.pdf"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, "uploads/2026/11/a1.pdf"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "uploads/2026/11/a1.pdf"); err != nil {
		t.Fatalf("Delete twice: %v", err)
	}

	for _, k := range []string{"../escape", "/etc/passwd", "a/../../b", `a\..\b`, "", ".tmp-x"} {
		if err := s.Put(ctx, k, bytes.NewReader([]byte("x")), 1, "application/pdf"); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("Put %q: err = %v, want ErrInvalid", k, err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("Get %q: err = %v, want ErrInvalid", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("Delete %q: err = %v, want ErrInvalid", k, err)
		}
	}
}

func read(t *testing.T, s models.BlobStore, key string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func TestFolder(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "blobs")
	f, err := NewFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	exerciseStore(t, f)

	// Files are private and no temporary file is left behind.
	ctx := context.Background()
	if err := f.Put(ctx, "uploads/x.png", strings.NewReader("png"), 3, models.ContentTypePNG); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "uploads", "x.png"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("blob mode = %v, want 0600", st.Mode().Perm())
	}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		if d.IsDir() {
			if info, _ := d.Info(); p != root && info.Mode().Perm() != 0o700 {
				t.Errorf("directory %s mode %v, want 0700", p, info.Mode().Perm())
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing was written outside the folder by the refused keys.
	if _, err := os.Stat(filepath.Join(root, "escape")); !os.IsNotExist(err) {
		t.Fatalf("a key escaped the folder: %v", err)
	}
	// A directory is not a blob.
	if _, err := f.Get(ctx, "uploads"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("Get of a directory: err = %v, want ErrNotFound", err)
	}
}

func TestFolderPutHonoursCancelledContext(t *testing.T) {
	f, err := NewFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Put(ctx, "a", strings.NewReader("x"), 1, "application/pdf"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context: err = %v", err)
	}
	if _, err := f.Get(context.Background(), "a"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("cancelled Put stored a blob: %v", err)
	}
}
