package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

type recordPage struct {
	Items []struct {
		Scheme      string `json:"scheme"`
		Period      string `json:"period"`
		OrderNo     string `json:"order_no"`
		PayerMasked string `json:"payer_masked"`
		PayerKind   string `json:"payer_kind"`
	} `json:"items"`
	NextPageToken string `json:"next_page_token"`
}

// seedRecords gives the person userID is bound to n records, months from
// January 1990 on in two schemes, paid by userID, with payer_masked as
// given (nil: written before migration 0013).
func seedRecords(t *testing.T, env *servicetest.Env, subject string, n int, payer *string) (userID string) {
	t.Helper()
	ctx := context.Background()
	var u store.UserRow
	if err := env.DB.Gorm.WithContext(ctx).Where("subject = ?", subject).Take(&u).Error; err != nil || u.PersonID == nil {
		t.Fatalf("user %s: %v", subject, err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	rows := make([]store.RecordRow, 0, n)
	for i := range n {
		scheme := "flexible_pension"
		if i%3 == 0 {
			scheme = "flexible_medical"
		}
		rows = append(rows, store.RecordRow{ID: fmt.Sprintf("rp%s%05d", subject, i), PersonID: *u.PersonID, Scheme: scheme,
			Period: fmt.Sprintf("%04d%02d", 1990+i/12, i%12+1), RegionCode: "150100", BaseFen: 100, AmountFen: 10,
			Status: "booked", OrderNo: fmt.Sprintf("LBPAGE%s%05d", subject, i), PayerUserID: u.ID, PaidAt: now,
			CreditedAt: &now, BookedAt: &now, PayerMasked: payer})
	}
	if err := env.DB.Gorm.WithContext(ctx).CreateInBatches(rows, 200).Error; err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// walkRecords follows next_page_token from the first page to the last.
func walkRecords(t *testing.T, get func(path string) (int, recordPage), query string) (pages int, keys []string, last recordPage) {
	t.Helper()
	tok := ""
	for {
		q := query
		if tok != "" {
			q += "&page_token=" + url.QueryEscape(tok)
		}
		st, p := get("/api/v1/records?" + q)
		if st != 200 {
			t.Fatalf("page %d: %d", pages, st)
		}
		pages++
		for _, it := range p.Items {
			keys = append(keys, it.Scheme+"/"+it.Period)
		}
		last = p
		if p.NextPageToken == "" {
			return pages, keys, last
		}
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		tok = p.NextPageToken
	}
}

// newHTTPEnvOn is newHTTPEnv on a given database.
func newHTTPEnvOn(t *testing.T, db *store.DB) (*servicetest.Env, *apitest.Client) {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL})
	h = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	return env, apitest.Load(t).ServerClient(t, srv.URL, srv.Client())
}

// The keyset differs by dialect (MariaDB gets the expanded comparison),
// so paging is walked on every database the environment names.
func TestRecordsArePagedByKeyAndTokensAreBoundToTheirList(t *testing.T) {
	storetest.ForEach(t, testRecordsPaging)
}

func testRecordsPaging(t *testing.T, db *store.DB) {
	env, cl := newHTTPEnvOn(t, db)
	me := servicetest.Person(t, "张三明")
	mom := servicetest.Person(t, "李秀英")
	tok := loginAs(t, cl, "zhang", me.Name, me.IDNumber)
	momTok := loginAs(t, cl, "li", mom.Name, mom.IDNumber)
	masked := "张*明"
	const n = 451
	seedRecords(t, env, "zhang", n, &masked)
	seedRecords(t, env, "li", 30, &masked)
	getAs := func(token string) func(string) (int, recordPage) {
		return func(path string) (int, recordPage) {
			var p recordPage
			st := cl.DoJSON("GET", path, token, nil, &p)
			return st, p
		}
	}
	get := getAs(tok)

	for _, size := range []string{"3", "100", "500"} {
		pages, keys, _ := walkRecords(t, get, "person=self&page_size="+size)
		seen := map[string]bool{}
		for i, k := range keys {
			if seen[k] {
				t.Fatalf("page_size %s: %s twice", size, k)
			}
			seen[k] = true
			if i > 0 && keys[i-1] >= k {
				t.Fatalf("page_size %s: %s before %s, want by scheme then period", size, keys[i-1], k)
			}
		}
		if len(keys) != n {
			t.Fatalf("page_size %s: %d records over %d pages, want %d", size, len(keys), pages, n)
		}
	}
	// The default page keeps 200 records on one page.
	st, first := get("/api/v1/records?person=self")
	if st != 200 || len(first.Items) != 200 || first.NextPageToken == "" {
		t.Fatalf("default page: %d, %d items, token %q", st, len(first.Items), first.NextPageToken)
	}
	for _, it := range first.Items {
		if it.PayerMasked != masked || it.PayerKind != "" {
			t.Fatalf("payer %+v", it)
		}
	}
	// Filters page too, and a token is bound to its filter.
	_, keys, _ := walkRecords(t, get, "person=self&scheme=flexible_medical&page_size=40")
	if len(keys) != (n+2)/3 {
		t.Fatalf("medical: %d records, want %d", len(keys), (n+2)/3)
	}
	_, keys, _ = walkRecords(t, get, "person=self&year=1995&page_size=5")
	if len(keys) != 12 {
		t.Fatalf("year 1995: %d records", len(keys))
	}

	expect := func(token, path string, status int, code string) {
		t.Helper()
		r := cl.Send("GET", path, token, nil)
		if r.Status != status || r.ErrorCode() != code {
			t.Fatalf("%s: %d %s, want %d %s", path, r.Status, r.Body, status, code)
		}
	}
	next := first.NextPageToken
	expect(tok, "/api/v1/records?page_token="+url.QueryEscape(next), 200, "")
	expect(tok, "/api/v1/records?page_token=%21%21", 400, "INVALID_ARGUMENT")
	expect(tok, "/api/v1/records?page_token=x", 400, "INVALID_ARGUMENT")
	expect(tok, "/api/v1/records?page_token=b2Zmc2V0", 400, "INVALID_ARGUMENT")
	expect(tok, "/api/v1/records?page_size=501", 400, "INVALID_ARGUMENT")
	expect(tok, "/api/v1/records?page_size=0", 400, "INVALID_ARGUMENT")
	// A malformed position or an altered tag is refused, not read.
	parts := strings.Split(next, ".")
	if len(parts) != 4 {
		t.Fatalf("token %q", next)
	}
	moved := strings.Join([]string{parts[0], "1001a1", parts[2], parts[3]}, ".")
	expect(tok, "/api/v1/records?page_token="+moved, 400, "INVALID_ARGUMENT")
	retagged := strings.Join([]string{parts[0], parts[1], parts[2], "000000000000"}, ".")
	expect(tok, "/api/v1/records?page_token="+retagged, 400, "INVALID_ARGUMENT")
	// A token of one filter does not page another.
	expect(tok, "/api/v1/records?scheme=flexible_pension&page_token="+url.QueryEscape(next), 400, "INVALID_ARGUMENT")
	// Another person's token reveals nothing: 李秀英 cannot use 张三明's
	// token on her own list, and her own list never shows his records.
	expect(momTok, "/api/v1/records?page_token="+url.QueryEscape(next), 400, "INVALID_ARGUMENT")
	_, momKeys, _ := walkRecords(t, getAs(momTok), "person=self&page_size=7")
	if len(momKeys) != 30 {
		t.Fatalf("李秀英 sees %d records, want her 30", len(momKeys))
	}
}

// TestRecordsWrittenBeforeTheReadModelShowTheirPayerAndAreFilled: rows
// from before migration 0013 (payer_masked NULL) list with the payer
// worked out per request, and the worker's fill step then stores it.
func TestRecordsWrittenBeforeTheReadModelShowTheirPayerAndAreFilled(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	me := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "zhang", me.Name, me.IDNumber)
	uid := seedRecords(t, env, "zhang", 25, nil)
	var p recordPage
	if st := cl.DoJSON("GET", "/api/v1/records?page_size=10", tok, nil, &p); st != 200 || len(p.Items) != 10 {
		t.Fatalf("list %d %+v", st, p)
	}
	for _, it := range p.Items {
		if it.PayerMasked != "张*明" {
			t.Fatalf("unfilled row's payer %q", it.PayerMasked)
		}
	}
	ctx := context.Background()
	n, err := env.Svc.FillRecordPayers(ctx)
	if err != nil || n != 25 {
		t.Fatalf("filled %d, %v; want 25", n, err)
	}
	var left int64
	if err := env.DB.Gorm.Model(&store.RecordRow{}).Where("payer_user_id = ? AND (payer_masked IS NULL OR payer_masked <> ?)", uid, "张*明").
		Count(&left).Error; err != nil || left != 0 {
		t.Fatalf("%d rows not filled (%v)", left, err)
	}
	if n, err := env.Svc.FillRecordPayers(ctx); err != nil || n != 0 {
		t.Fatalf("second fill %d, %v", n, err)
	}
	if st := cl.DoJSON("GET", "/api/v1/records?page_size=10", tok, nil, &p); st != 200 || len(p.Items) != 10 || p.Items[0].PayerMasked != "张*明" {
		t.Fatalf("after fill %d %+v", st, p)
	}
}
