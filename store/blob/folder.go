// Package blob keeps uploaded files (units' 开户许可证 copies, 缴费凭证)
// behind models.BlobStore: Folder, a directory on the embedded defaults,
// and S3, any S3-compatible store such as MinIO in production. Uploads are
// small (≤ models.MaxUploadBytes) and written once, so both stores write a
// blob whole or not at all and never expose a half-written one.
//
// Configuration (read by the lead's config, not by this package):
//
//	LIANBAN_BLOB_DIR            folder for Folder (default under the data directory)
//	LIANBAN_BLOB_S3_ENDPOINT    host[:port] of the S3 API; when set, S3 is used instead of the folder
//	LIANBAN_BLOB_S3_BUCKET      bucket, created beforehand by the operator
//	LIANBAN_BLOB_S3_ACCESS_KEY  access key id
//	LIANBAN_BLOB_S3_SECRET_KEY  secret access key
//	LIANBAN_BLOB_S3_REGION      region (default us-east-1, which MinIO accepts)
//	LIANBAN_BLOB_S3_SSL         "true" to speak HTTPS (default true; false only on a private network)
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lianban/lianban/models"
)

// Folder stores blobs as files under a directory, one file a key, with
// the key's slashes as subdirectories. Files are 0600 and directories 0700:
// uploads carry personal data and only the service reads them.
type Folder struct {
	dir string
}

var _ models.BlobStore = (*Folder)(nil)

// NewFolder opens (creating if needed) the directory dir.
func NewFolder(dir string) (*Folder, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob folder %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("blob folder: %w", err)
	}
	return &Folder{dir: abs}, nil
}

// path maps a checked key into the folder. CheckBlobKey has already
// refused "..", absolute keys and backslashes, so the result stays inside.
func (f *Folder) path(key string) (string, error) {
	if err := models.CheckBlobKey(key); err != nil {
		return "", err
	}
	return filepath.Join(f.dir, filepath.FromSlash(key)), nil
}

// Put writes to a temporary file in the target's directory and renames
// it into place, so readers see the old blob or the whole new one, never a
// part; a crash leaves only a ".tmp-" file, which no key can name.
func (f *Folder) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("blob put %s: negative size %d", key, size)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(r, size+1))
	if err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	if n != size {
		return fmt.Errorf("blob put %s: got %d bytes or more, want %d", key, n, size)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	done = true
	return nil
}

// Get opens the file under key.
func (f *Folder) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := f.path(key)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob get %s: %w", key, models.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blob get %s: %w", key, err)
	}
	if st, err := file.Stat(); err != nil || !st.Mode().IsRegular() {
		file.Close()
		return nil, fmt.Errorf("blob get %s: %w", key, models.ErrNotFound)
	}
	return file, nil
}

// Delete removes the file under key; a missing file is already deleted.
func (f *Folder) Delete(ctx context.Context, key string) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	return nil
}
