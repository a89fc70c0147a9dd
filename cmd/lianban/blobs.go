package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/store/blob"
)

// wireBlobs chooses where uploaded files live: an S3-compatible store
// (MinIO, a cloud's object storage) when one is configured, a folder
// otherwise. A partly configured S3 store is refused at start-up rather
// than discovered at the first upload.
func wireBlobs(ctx context.Context, cfg Config, d *service.Deps) error {
	s3 := cfg.BlobS3Endpoint != "" || cfg.BlobS3Bucket != "" || cfg.BlobS3AccessKey != "" || cfg.BlobS3SecretKey != ""
	if !s3 {
		dir := cfg.BlobDir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "blobs")
		}
		f, err := blob.NewFolder(dir)
		if err != nil {
			return fmt.Errorf("blob folder: %w", err)
		}
		d.Blobs = f
		return nil
	}
	if cfg.BlobS3Endpoint == "" || cfg.BlobS3Bucket == "" || cfg.BlobS3AccessKey == "" || cfg.BlobS3SecretKey == "" {
		return errors.New("the S3 blob store is partly configured: set LIANBAN_BLOB_S3_ENDPOINT, LIANBAN_BLOB_S3_BUCKET, LIANBAN_BLOB_S3_ACCESS_KEY and LIANBAN_BLOB_S3_SECRET_KEY")
	}
	s, err := blob.NewS3(blob.S3Config{Endpoint: cfg.BlobS3Endpoint, Bucket: cfg.BlobS3Bucket, Region: cfg.BlobS3Region,
		AccessKey: cfg.BlobS3AccessKey, SecretKey: cfg.BlobS3SecretKey, UseSSL: cfg.BlobS3SSL})
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	if err := s.Check(ctx); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	d.Blobs = s
	return nil
}
