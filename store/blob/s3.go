package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lianban/lianban/models"
)

// S3Config locates an S3-compatible bucket (see the package comment for
// the configuration keys).
type S3Config struct {
	Endpoint  string // host[:port], no scheme
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string // "" means us-east-1
	UseSSL    bool
}

// S3 stores blobs as objects in one bucket of an S3-compatible store.
// An object PUT is atomic on S3, so a blob is never seen half-written.
type S3 struct {
	client *minio.Client
	bucket string
}

var _ models.BlobStore = (*S3)(nil)

// NewS3 makes the client; it does not touch the network (see Check).
// Path-style addressing is used because MinIO and most private
// S3-compatible stores do not have per-bucket DNS names. Setting the
// region spares a bucket-location request before the first call.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("blob s3: endpoint and bucket are required")
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.UseSSL,
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("blob s3: %w", err)
	}
	return &S3{client: c, bucket: cfg.Bucket}, nil
}

// Check confirms at start-up that the bucket exists and the credentials
// reach it, so a misconfigured store fails the boot and not the first
// upload.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob s3: bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("blob s3: bucket %s does not exist", s.bucket)
	}
	return nil
}

// Put uploads exactly size bytes. The client stops reading at size, so a
// reader with bytes left over is caught afterwards and its object removed:
// a caller that got the size wrong must not store a truncated file. The
// reader is hidden behind a plain io.Reader because minio-go reads an
// io.ReaderAt through a section without moving it, which would defeat
// that check (a multipart.File is one).
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := models.CheckBlobKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("blob put %s: negative size %d", key, size)
	}
	r = struct{ io.Reader }{r}
	_, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		_ = s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
		return fmt.Errorf("blob put %s: reader longer than %d bytes", key, size)
	}
	return nil
}

// Get opens the object. minio-go fetches lazily, so Stat makes the first
// request here and a missing object is reported now, as ErrNotFound.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := models.CheckBlobKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("blob get %s: %w", key, err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("blob get %s: %w", key, models.ErrNotFound)
		}
		return nil, fmt.Errorf("blob get %s: %w", key, err)
	}
	return obj, nil
}

// Delete removes the object; S3 answers 204 for a missing key too.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := models.CheckBlobKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	return nil
}
