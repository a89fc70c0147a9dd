package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/store"
)

// uploadRateLimit bounds uploads per user and hour: a unit's refund needs
// a handful of files, and each may be 10 MB of the blob store.
const uploadRateLimit = 30

// Uploads is the upload workflow. It is safe for concurrent use.
type Uploads struct {
	*kernel.Kernel
	units *units.Units
}

// New returns the upload workflow on k; unit uploads are checked by u.
func New(k *kernel.Kernel, u *units.Units) *Uploads { return &Uploads{Kernel: k, units: u} }

// Upload is what createUpload answers.
type Upload struct {
	UploadID    string `json:"upload_id"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
}

// BlobKey is where an upload's bytes are kept.
func BlobKey(uploadID string) string { return "uploads/" + uploadID }

// CreateUpload stores a file of size bytes read from f for the caller and,
// when unitID is set, for that unit (the caller must act for it). The size
// and the content type (sniffed from the bytes, never taken from the name
// or the client's header) are checked before anything is stored, so a
// refused file leaves nothing behind; a blob whose row could not be
// written is deleted again.
func (s *Uploads) CreateUpload(ctx context.Context, userID, unitID string, f io.Reader, size int64) (Upload, error) {
	if err := s.RateLimit(ctx, "upload:"+userID, uploadRateLimit, time.Hour, kernel.LetThrough); err != nil {
		return Upload{}, err
	}
	if unitID != "" {
		if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
			return Upload{}, err
		}
	} else if _, err := s.SelfPerson(ctx, userID); err != nil {
		// Materials are filed by verified people only.
		return Upload{}, err
	}
	if size < 0 {
		return Upload{}, models.ErrInvalid.WithReason("文件大小未知")
	}
	head := make([]byte, models.SniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Upload{}, models.ErrInvalid.WithReason("文件读取失败")
	}
	head = head[:n]
	ct, err := models.CheckUpload(size, head)
	if err != nil {
		return Upload{}, err
	}
	if s.Blobs == nil {
		return Upload{}, models.ErrUnavailable.WithReason("文件存储暂不可用")
	}
	// The whole file is read before anything is stored: GCM seals it in
	// one piece (at most models.MaxUploadBytes in memory per upload), and
	// a body shorter or longer than its declared size stores nothing.
	plain, err := io.ReadAll(io.LimitReader(io.MultiReader(bytes.NewReader(head), f), size+1))
	if err != nil || int64(len(plain)) != size {
		return Upload{}, models.ErrInvalid.WithReason("文件读取失败")
	}
	id := kernel.NewID("upl")
	key := BlobKey(id)
	sealed, err := s.PII.SealBytes(plain, key)
	if err != nil {
		return Upload{}, kernel.Internal("seal upload", err)
	}
	if err := s.Blobs.Put(ctx, key, bytes.NewReader(sealed), int64(len(sealed)), ct); err != nil {
		return Upload{}, kernel.Internal("store upload", err)
	}
	digest := sha256.Sum256(plain)
	sum := hex.EncodeToString(digest[:])
	row := store.UploadRow{ID: id, OwnerUserID: userID, UnitID: unitID, Size: size, ContentType: ct, SHA256: sum, BlobKey: key,
		CreatedAt: s.Now()}
	if err := s.Conn(ctx).Create(&row).Error; err != nil {
		// Without its row nobody can ever name the blob: remove it.
		if derr := s.Blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.Log.ErrorContext(ctx, "orphan upload blob", "key", key, "err", derr)
		}
		return Upload{}, kernel.Internal("record upload", err)
	}
	s.Log.InfoContext(ctx, "upload stored", "upload_id", id, "size", size, "content_type", ct, "unit_id", unitID)
	return Upload{UploadID: id, Size: size, ContentType: ct, SHA256: sum}, nil
}

// Open returns an upload's bytes, decrypted with pii and checked against
// the digest recorded when it was stored: a blob changed, cut short, or
// moved from another upload's key is an internal error, never served.
func Open(ctx context.Context, blobs models.BlobStore, pii *models.PIICipher, u store.UploadRow) ([]byte, error) {
	if blobs == nil {
		return nil, models.ErrUnavailable.WithReason("文件存储暂不可用")
	}
	rc, err := blobs.Get(ctx, u.BlobKey)
	if err != nil {
		return nil, kernel.Internal("open upload", err)
	}
	defer rc.Close()
	sealed, err := io.ReadAll(io.LimitReader(rc, models.MaxUploadBytes+int64(models.MaxSealedBytesOverhead)+1))
	if err != nil {
		return nil, kernel.Internal("read upload", err)
	}
	b, err := pii.OpenBytes(sealed, u.BlobKey)
	if err != nil {
		return nil, kernel.Internal("read upload", fmt.Errorf("upload %s: %w", u.ID, err))
	}
	sum := sha256.Sum256(b)
	if int64(len(b)) != u.Size || hex.EncodeToString(sum[:]) != u.SHA256 {
		return nil, kernel.Internal("read upload", fmt.Errorf("upload %s: stored bytes do not match their digest", u.ID))
	}
	return b, nil
}

// UnattachedUploadLife is how long an upload waits to be attached to an
// application before PurgeUnattachedUploads deletes it: materials are
// uploaded minutes before filing, and a file nobody files is personal
// data kept for no one (and blob space anyone verified could fill).
const UnattachedUploadLife = 7 * 24 * time.Hour

// AttachableUploadAge is the oldest an upload may be when an application
// is filed with it: a day short of UnattachedUploadLife, so a filing that
// checked its files can never lose one to a purge running at the same
// time.
const AttachableUploadAge = 6 * 24 * time.Hour

// purgeBatch bounds the uploads one worker pass deletes.
const purgeBatch = 100

// PurgeUnattachedUploads deletes (row, then blob) up to purgeBatch uploads
// older than UnattachedUploadLife that no application carries. Each row's
// delete is conditional on both, so an upload attached meanwhile stays,
// and several workers may run it at once. The blob is deleted only after
// its row's delete committed; a blob whose delete fails is unreachable
// garbage, logged, never a dangling row.
func (s *Uploads) PurgeUnattachedUploads(ctx context.Context) error {
	cutoff := s.Now().Add(-UnattachedUploadLife)
	const unattached = "created_at < ? AND NOT EXISTS (SELECT 1 FROM refund_attachments WHERE refund_attachments.upload_id = uploads.id)"
	var rows []store.UploadRow
	if err := s.Conn(ctx).Where(unattached, cutoff).Order("created_at, id").Limit(purgeBatch).Find(&rows).Error; err != nil {
		return kernel.Internal("find unattached uploads", err)
	}
	for _, u := range rows {
		res := s.Conn(ctx).Where("id = ?", u.ID).Where(unattached, cutoff).Delete(&store.UploadRow{})
		if res.Error != nil {
			return kernel.Internal("purge upload", res.Error)
		}
		if res.RowsAffected == 0 {
			continue // attached or purged meanwhile
		}
		if s.Blobs == nil {
			s.Log.ErrorContext(ctx, "purged upload's blob left behind: no blob store", "upload_id", u.ID, "key", u.BlobKey)
			continue
		}
		if err := s.Blobs.Delete(ctx, u.BlobKey); err != nil {
			s.Log.ErrorContext(ctx, "purged upload's blob left behind", "upload_id", u.ID, "key", u.BlobKey, "err", err)
			continue
		}
		s.Log.InfoContext(ctx, "unattached upload purged", "upload_id", u.ID, "created_at", u.CreatedAt)
	}
	return nil
}
