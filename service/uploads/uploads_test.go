package uploads_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/uploads"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/blob"
	"github.com/lianban/lianban/store/storetest"
)

// pngBytes is a PNG's signature and a little more: what a phone photo of a
// 开户许可证 starts with.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 300)...)

func upload(t *testing.T, env *servicetest.Env, userID, unitID string) uploads.Upload {
	t.Helper()
	u, err := env.Svc.CreateUpload(context.Background(), userID, unitID, bytes.NewReader(pngBytes), int64(len(pngBytes)))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// blobFiles counts the files in the blob folder, whatever its layout.
func blobFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	var walk func(string)
	walk = func(d string) {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.IsDir() {
				walk(d + "/" + e.Name())
			} else {
				n++
			}
		}
	}
	walk(dir)
	return n
}

func TestUploadsAreCheckedByContentAndNothingIsKeptOfARefusedOne(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		env := servicetest.NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
			f, err := blob.NewFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			d.Blobs = f
		})
		pu := servicetest.NewPaidUnit(t, env, "rep", "张三明", "91150100MA0LB00013", "内蒙古联办示范科技有限公司")
		u := upload(t, env, pu.Rep.UserID, pu.Unit.ID)
		if u.ContentType != models.ContentTypePNG || u.Size != int64(len(pngBytes)) || len(u.SHA256) != 64 {
			t.Fatalf("upload %+v", u)
		}
		var row store.UploadRow
		if err := db.Gorm.Where("id = ?", u.UploadID).Take(&row).Error; err != nil || row.UnitID != pu.Unit.ID || row.OwnerUserID != pu.Rep.UserID {
			t.Fatalf("row %+v %v", row, err)
		}
		got, err := uploads.Open(ctx, env.Deps.Blobs, env.Deps.PII, row)
		if err != nil || !bytes.Equal(got, pngBytes) {
			t.Fatalf("read back: %v", err)
		}
		if blobFiles(t, dir) != 1 {
			t.Fatalf("%d blobs after one upload", blobFiles(t, dir))
		}
		// What the store holds is sealed: neither the file nor any part of it.
		if stored := readBlob(t, env, row.BlobKey); bytes.Equal(stored, pngBytes) || bytes.Contains(stored, pngBytes[:8]) ||
			bytes.Contains(stored, bytes.Repeat([]byte{7}, 32)) {
			t.Fatal("the blob store holds the plaintext")
		}
		text := []byte("%PDF is what the name says, but this is text\n")
		text[0] = 'x'
		if _, err := env.Svc.CreateUpload(ctx, pu.Rep.UserID, pu.Unit.ID, bytes.NewReader(text), int64(len(text))); !errors.Is(err, models.ErrUploadTypeNotAllowed) {
			t.Fatalf("text: %v", err)
		}
		big := append(append([]byte{}, pngBytes...), make([]byte, models.MaxUploadBytes+1-len(pngBytes))...)
		if _, err := env.Svc.CreateUpload(ctx, pu.Rep.UserID, pu.Unit.ID, bytes.NewReader(big), int64(len(big))); !errors.Is(err, models.ErrUploadTooLarge) {
			t.Fatalf("10 MB + 1: %v", err)
		}
		if n := servicetest.Count(t, db, "uploads", "1 = 1"); n != 1 || blobFiles(t, dir) != 1 {
			t.Fatalf("refused uploads left %d rows, %d blobs", n, blobFiles(t, dir))
		}
		// Someone not acting for the unit cannot upload for it, nor learn it exists.
		li := servicetest.Person(t, "李秀英")
		stranger := env.LoginVerified(t, "li", li.Name, li.IDNumber)
		if _, err := env.Svc.CreateUpload(ctx, stranger.UserID, pu.Unit.ID, bytes.NewReader(pngBytes), int64(len(pngBytes))); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("stranger: %v", err)
		}
		// A verified user may upload for no unit: the file is theirs.
		if mine := upload(t, env, stranger.UserID, ""); mine.ContentType != models.ContentTypePNG {
			t.Fatalf("own upload %+v", mine)
		}
		// A tampered blob is never served.
		row.SHA256 = strings.Repeat("0", 64)
		if _, err := uploads.Open(ctx, env.Deps.Blobs, env.Deps.PII, row); err == nil {
			t.Fatal("a blob that does not match its digest was read")
		}
	})
}

func readBlob(t *testing.T, env *servicetest.Env, key string) []byte {
	t.Helper()
	rc, err := env.Deps.Blobs.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestABlobMovedToAnotherUploadNeverOpens(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		pu := servicetest.NewPaidUnit(t, env, "rep", "张三明", "91150100MA0LB00013", "内蒙古联办示范科技有限公司")
		a := upload(t, env, pu.Rep.UserID, pu.Unit.ID)
		b := upload(t, env, pu.Rep.UserID, pu.Unit.ID)
		var ra, rb store.UploadRow
		if err := db.Gorm.Where("id = ?", a.UploadID).Take(&ra).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Where("id = ?", b.UploadID).Take(&rb).Error; err != nil {
			t.Fatal(err)
		}
		for _, r := range []store.UploadRow{ra, rb} {
			if got, err := uploads.Open(ctx, env.Deps.Blobs, env.Deps.PII, r); err != nil || !bytes.Equal(got, pngBytes) {
				t.Fatalf("round trip of %s: %v", r.ID, err)
			}
		}
		// The same file twice: equal digests, so only the sealing can tell
		// b's blob from a's.
		sealedA := readBlob(t, env, ra.BlobKey)
		if bytes.Equal(sealedA, readBlob(t, env, rb.BlobKey)) {
			t.Fatal("one file sealed twice gave equal blobs")
		}
		if err := env.Deps.Blobs.Put(ctx, rb.BlobKey, bytes.NewReader(sealedA), int64(len(sealedA)), rb.ContentType); err != nil {
			t.Fatal(err)
		}
		if got, err := uploads.Open(ctx, env.Deps.Blobs, env.Deps.PII, rb); err == nil {
			t.Fatalf("a's blob opened as b's: %d bytes", len(got))
		}
	})
}
