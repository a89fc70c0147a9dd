package models

import (
	"bytes"
	"context"
	"io"
	"strings"
)

// MaxUploadBytes bounds an uploaded material (开户许可证 copy, 缴费凭证):
// a phone photo or a scanned page is far smaller, and the limit keeps one
// upload from filling the blob store.
const MaxUploadBytes = 10 << 20

// SniffLen is how many leading bytes SniffUpload needs at most; callers
// read this much (or the whole file if shorter) before deciding.
const SniffLen = 512

// The content types an upload may have.
const (
	ContentTypePDF  = "application/pdf"
	ContentTypeJPEG = "image/jpeg"
	ContentTypePNG  = "image/png"
)

// uploadMagic are the signatures that decide an upload's type. The claimed
// type and the file name are never trusted: a staff member opens these
// files, so an HTML page or an executable named .pdf must not get through.
var uploadMagic = []struct {
	prefix      []byte
	contentType string
}{
	{[]byte("%PDF-"), ContentTypePDF},
	{[]byte{0xFF, 0xD8, 0xFF}, ContentTypeJPEG},
	{[]byte{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}, ContentTypePNG},
}

// SniffUpload returns the content type of an upload from its first bytes
// (up to SniffLen), and false when it is not PDF, JPEG or PNG. Only the
// signature at offset 0 counts: PDF readers tolerate junk before "%PDF-",
// but accepting it would let a polyglot (HTML first, PDF after) through.
func SniffUpload(first512 []byte) (contentType string, ok bool) {
	for _, m := range uploadMagic {
		if bytes.HasPrefix(first512, m.prefix) {
			return m.contentType, true
		}
	}
	return "", false
}

// CheckUpload applies the upload rules to a file of size bytes whose
// first bytes are head (at least min(size, SniffLen) of them): the size
// limit first, so an oversized file is refused for its size whatever it
// holds, then the content type. It returns the content type to store.
func CheckUpload(size int64, head []byte) (string, error) {
	if size > MaxUploadBytes {
		return "", ErrUploadTooLarge.WithReason("文件不能超过10MB，请压缩或分开上传")
	}
	ct, ok := SniffUpload(head)
	if !ok {
		return "", ErrUploadTypeNotAllowed
	}
	return ct, nil
}

// BlobStore keeps uploaded files by key. Implementations: a folder (the
// embedded default) and any S3-compatible store (store/blob). Keys are
// chosen by lianban, never by users, and must pass CheckBlobKey.
type BlobStore interface {
	// Put stores exactly size bytes from r under key, replacing any blob
	// there. A reader that ends early or runs long is an error and leaves
	// no blob behind.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens the blob under key; the caller closes it. A missing blob is
	// an error matching ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the blob under key; deleting a missing blob is not an
	// error, so a retried clean-up succeeds.
	Delete(ctx context.Context, key string) error
}

// maxBlobKeyLen bounds a key; S3 allows 1024 bytes, file systems 255 per
// name, and lianban's keys ("uploads/2026/11/<id>") are far shorter.
const maxBlobKeyLen = 200

// CheckBlobKey accepts keys of slash-separated segments made of ASCII
// letters, digits, '.', '_' and '-', where no segment is empty or starts
// with '.' (so no "..", and no name of the folder store's temporary
// files). Both stores share the rule so a key that works on the folder
// works on S3 and cannot climb out of the folder.
func CheckBlobKey(key string) error {
	bad := ErrInvalid.WithReason("文件标识不正确")
	if key == "" || len(key) > maxBlobKeyLen {
		return bad
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg[0] == '.' {
			return bad
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
			if !ok {
				return bad
			}
		}
	}
	return nil
}
