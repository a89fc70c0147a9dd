package blob

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeS3 speaks the part of the S3 REST protocol minio-go uses for one
// path-style bucket: HEAD bucket, GET bucket location, PUT/GET/HEAD/DELETE
// object, including the aws-chunked bodies of streaming SigV4 uploads that
// minio-go sends over plain HTTP. It checks that requests are signed with
// the configured access key, not the signature itself.
type fakeS3 struct {
	t         *testing.T
	bucket    string
	accessKey string
	mu        sync.Mutex
	objects   map[string]fakeObject
	puts      int
}

type fakeObject struct {
	body        []byte
	contentType string
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+f.accessKey+"/") {
		f.fail(w, http.StatusForbidden, "InvalidAccessKeyId")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != f.bucket {
		f.fail(w, http.StatusNotFound, "NoSuchBucket")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case key == "" && r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	case key == "" && r.Method == http.MethodGet && r.URL.Query().Has("location"):
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`)
	case key == "":
		f.fail(w, http.StatusNotImplemented, "NotImplemented")
	case r.Method == http.MethodPut:
		body, err := f.readBody(r)
		if err != nil {
			f.t.Logf("fake s3: bad body: %v", err)
			f.fail(w, http.StatusBadRequest, "IncompleteBody")
			return
		}
		f.objects[key] = fakeObject{body: body, contentType: r.Header.Get("Content-Type")}
		f.puts++
		w.Header().Set("ETag", fmt.Sprintf(`"%x"`, len(body)))
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		o, ok := f.objects[key]
		if !ok {
			f.fail(w, http.StatusNotFound, "NoSuchKey")
			return
		}
		h := w.Header()
		h.Set("Content-Type", o.contentType)
		h.Set("Content-Length", strconv.Itoa(len(o.body)))
		h.Set("ETag", fmt.Sprintf(`"%x"`, len(o.body)))
		h.Set("Last-Modified", time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(o.body)
		}
	case r.Method == http.MethodDelete:
		delete(f.objects, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		f.fail(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
	}
}

// readBody returns the object bytes, decoding aws-chunked framing
// ("<hex size>;chunk-signature=…\r\n<data>\r\n" … "0;…\r\n" [trailers]
// "\r\n") and checking the declared decoded length.
func (f *fakeS3) readBody(r *http.Request) ([]byte, error) {
	if !strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return io.ReadAll(r.Body)
	}
	want, err := strconv.Atoi(r.Header.Get("X-Amz-Decoded-Content-Length"))
	if err != nil {
		return nil, fmt.Errorf("decoded length: %w", err)
	}
	br := bufio.NewReader(r.Body)
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		sizeHex, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		n, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("chunk size %q: %w", line, err)
		}
		if n == 0 {
			break // trailers, if any, follow; they are not checked
		}
		if _, err := io.CopyN(&out, br, n); err != nil {
			return nil, err
		}
		if crlf, err := br.ReadString('\n'); err != nil || crlf != "\r\n" {
			return nil, fmt.Errorf("chunk not ended by CRLF")
		}
	}
	if out.Len() != want {
		return nil, fmt.Errorf("decoded %d bytes, header says %d", out.Len(), want)
	}
	return out.Bytes(), nil
}

func (f *fakeS3) fail(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><BucketName>%s</BucketName><RequestId>fake</RequestId></Error>`, code, code, f.bucket)
}

func newFakeS3(t *testing.T) (*fakeS3, S3Config) {
	fake := &fakeS3{t: t, bucket: "lianban-uploads", accessKey: "AKFAKE", objects: map[string]fakeObject{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, S3Config{
		Endpoint:  strings.TrimPrefix(srv.URL, "http://"),
		Bucket:    fake.bucket,
		AccessKey: fake.accessKey,
		SecretKey: "secret",
	}
}

func TestS3(t *testing.T) {
	fake, cfg := newFakeS3(t)
	s, err := NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	exerciseStore(t, s)
	if fake.puts < 2 {
		t.Fatalf("fake saw %d PUTs; the store did not talk to it", fake.puts)
	}

	// The content type travels with the object.
	if err := s.Put(context.Background(), "c.png", strings.NewReader("\x89PNG"), 4, "image/png"); err != nil {
		t.Fatal(err)
	}
	if ct := fake.objects["c.png"].contentType; ct != "image/png" {
		t.Fatalf("stored content type %q", ct)
	}
}

func TestS3CheckRefusesWrongBucketAndKey(t *testing.T) {
	_, cfg := newFakeS3(t)
	wrongBucket := cfg
	wrongBucket.Bucket = "other"
	s, err := NewS3(wrongBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err == nil {
		t.Fatal("Check passed for a missing bucket")
	}
	wrongKey := cfg
	wrongKey.AccessKey = "NOPE"
	s, err = NewS3(wrongKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err == nil {
		t.Fatal("Check passed with the wrong access key")
	}
	if _, err := NewS3(S3Config{Bucket: "b"}); err == nil {
		t.Fatal("NewS3 without an endpoint succeeded")
	}
}
