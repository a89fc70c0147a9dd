package partner

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lianban/lianban/guomi"
	"github.com/lianban/lianban/models"
)

// TestStringToSignIsTheDocumentedOne pins the canonical text of API.md:
// a bank implements it from the document, not from this code.
func TestStringToSignIsTheDocumentedOne(t *testing.T) {
	body := []byte(`{"voucher_no":"V1"}`)
	sum := sha256.Sum256(body)
	want := "POST\n/partner/v1/payables/query?x=1\n1700000000\nn0nce-123\n" + hex.EncodeToString(sum[:])
	if got := StringToSign("POST", "/partner/v1/payables/query?x=1", 1700000000, "n0nce-123", body); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// No body and an empty body sign alike (a GET).
	if got := Sign([]byte("sandbox-partner-key"), "GET", "/partner/v1/x", 1, "abcdefgh", nil); got != Sign([]byte("sandbox-partner-key"), "GET", "/partner/v1/x", 1, "abcdefgh", []byte{}) {
		t.Fatalf("an empty body and no body sign differently: %s", got)
	}
}

// An HMAC-SM3 signature digests the body with SM3 too (GB/T 32905's
// example: SM3("abc")), so nothing in it rests on SHA-256.
func TestHMACSM3SignsTheBodysSM3Digest(t *testing.T) {
	const sm3abc = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	want := "POST\n/partner/v1/orders\n1700000000\nn0nce-123\n" + sm3abc
	if got := StringToSignWith(guomi.NewSM3, "POST", "/partner/v1/orders", 1700000000, "n0nce-123", []byte("abc")); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	m := hmac.New(guomi.NewSM3, []byte("k"))
	m.Write([]byte(want))
	if got := SignWith(guomi.NewSM3, []byte("k"), "POST", "/partner/v1/orders", 1700000000, "n0nce-123", []byte("abc")); got != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Fatalf("HMAC-SM3 signed another string: %s", got)
	}
}

// TestClientSignsWhatItSends: the server side recomputes the signature
// from the request as received (method, request URI, body) and the four
// headers, with the injected clock's timestamp and a fresh nonce each call.
func TestClientSignsWhatItSends(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(HeaderTimestamp)
		n := r.Header.Get(HeaderNonce)
		seen = append(seen, n)
		want := Sign([]byte("k"), r.Method, r.RequestURI, 1700000000, n, b)
		if r.Header.Get(HeaderPartnerID) != "p-bank" || ts != "1700000000" || r.Header.Get(HeaderSignature) != want ||
			r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(201)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL + "/", PartnerID: "p-bank", Key: []byte("k"), HTTP: srv.Client(),
		Clock: models.NewManualClock(time.Unix(1700000000, 0))}
	for i := 0; i < 2; i++ {
		r, err := c.Do(context.Background(), "POST", "/partner/v1/orders?terminal=T%201", []byte(`{"a":1}`))
		if err != nil || r.Status != 201 || string(r.Body) != `{"a":1}` {
			t.Fatalf("call %d: %v %+v", i, err, r)
		}
	}
	if len(seen) != 2 || seen[0] == seen[1] || len(seen[0]) != 32 {
		t.Fatalf("nonces %q: want two fresh 128-bit ones", seen)
	}
	// An absolute URL works too.
	if r, err := c.Do(context.Background(), "POST", srv.URL+"/partner/v1/x", []byte(`{}`)); err != nil || r.Status != 201 {
		t.Fatalf("absolute URL: %v %+v", err, r)
	}
}

func TestSignRequestWithHMACSM3SaysSoAndSignsWithSM3(t *testing.T) {
	req := httptest.NewRequest("POST", "/partner/v1/orders?x=1", nil)
	body := []byte(`{"a":1}`)
	if err := SignRequestWith(req, MethodHMACSM3, "bank", []byte("k"), 1700000000, "nonce-0001", body); err != nil {
		t.Fatal(err)
	}
	want := SignWith(guomi.NewSM3, []byte("k"), "POST", "/partner/v1/orders?x=1", 1700000000, "nonce-0001", body)
	if req.Header.Get(HeaderSignatureMethod) != "HMAC-SM3" || req.Header.Get(HeaderSignature) != want ||
		want == Sign([]byte("k"), "POST", "/partner/v1/orders?x=1", 1700000000, "nonce-0001", body) {
		t.Fatalf("headers %v", req.Header)
	}
	plain := httptest.NewRequest("POST", "/partner/v1/orders", nil)
	if err := SignRequestWith(plain, "", "bank", []byte("k"), 1, "nonce-0001", nil); err != nil || plain.Header.Get(HeaderSignatureMethod) != "" {
		t.Fatalf("the default sent a method header: %v %v", plain.Header, err)
	}
	if err := SignRequestWith(plain, "HMAC-MD5", "bank", []byte("k"), 1, "nonce-0001", nil); err == nil {
		t.Fatal("an unknown method signed")
	}
}
