package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/locale"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
)

type errorAnswer struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Reason    string `json:"reason"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

func decodeError(t *testing.T, r *apitest.Response) errorAnswer {
	t.Helper()
	var e errorAnswer
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error body: %d %s", r.Status, r.Body)
	}
	return e
}

// TestErrorMessagesAreInTheCallersLanguage: a page in Mongolian (or any
// client sending Accept-Language: mn…) reads the API's error messages in
// traditional Mongolian script, with the same codes; everyone else,
// whatever language they ask for, reads Chinese. The response says its
// language and that it varies by Accept-Language, so no cache serves one
// reader's language to another.
func TestErrorMessagesAreInTheCallersLanguage(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	cat, err := locale.Load()
	if err != nil {
		t.Fatal(err)
	}
	me := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "lang", me.Name, me.IDNumber)
	other := servicetest.Person(t, "李秀英")
	var fresh struct{ Token string }
	if st := cl.DoJSON("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": "lang-fresh"}, &fresh); st != 201 {
		t.Fatalf("login %d", st)
	}

	type request struct {
		name, method, path, token string
		body                      any
		status                    int
		err                       *models.Error
	}
	requests := []request{
		{"no session", "GET", "/api/v1/me", "", nil, http.StatusUnauthorized, models.ErrUnauthenticated},
		{"no such order", "GET", "/api/v1/payments/LB00000000000000000000", tok, nil, http.StatusNotFound, models.ErrNotFound},
		{"malformed ID number", "POST", "/api/v1/me/identity", fresh.Token,
			map[string]string{"name": "王小明", "id_number": "150102199001011234"}, http.StatusBadRequest, models.ErrIDNumberInvalid},
		{"name not matching the registry", "POST", "/api/v1/me/identity", fresh.Token,
			map[string]string{"name": "王小明", "id_number": other.IDNumber}, http.StatusUnprocessableEntity, models.ErrIdentityMismatch},
	}
	for _, lc := range []struct {
		accept string
		want   locale.Lang
	}{
		{"mn-Mong", locale.Mongolian},
		{"mn-CN,zh-CN;q=0.8", locale.Mongolian},
		{"", locale.Chinese},
		{"zh-CN,zh;q=0.9", locale.Chinese},
		{"en-US,fr;q=0.5", locale.Chinese},
		{"garbage;;q=x", locale.Chinese},
	} {
		for _, rq := range requests {
			var headers []string
			if lc.accept != "" {
				headers = []string{"Accept-Language", lc.accept}
			}
			r := cl.Send(rq.method, rq.path, rq.token, rq.body, headers...)
			if r.Status != rq.status {
				t.Errorf("%s (Accept-Language %q): %d %s", rq.name, lc.accept, r.Status, r.Body)
				continue
			}
			e := decodeError(t, r)
			want := rq.err.Message
			if lc.want == locale.Mongolian {
				want = cat.Message(locale.Mongolian, "error."+rq.err.Code, "")
				if want == "" || want == rq.err.Message {
					t.Fatalf("no Mongolian message for %s", rq.err.Code)
				}
			}
			if e.Error.Code != rq.err.Code || e.Error.Message != want {
				t.Errorf("%s (Accept-Language %q): %s %q, want %s %q", rq.name, lc.accept, e.Error.Code, e.Error.Message, rq.err.Code, want)
			}
			if got := r.Header.Get("Content-Language"); got != string(lc.want) {
				t.Errorf("%s (Accept-Language %q): Content-Language %q, want %s", rq.name, lc.accept, got, lc.want)
			}
			if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Accept-Language") {
				t.Errorf("%s: Vary %q lacks Accept-Language", rq.name, r.Header.Values("Vary"))
			}
		}
	}
}

// TestAReplayedRefusalIsWordedForTheRetry: an Idempotency-Key's stored
// refusal comes back to a retry in the retry's language (a person may
// switch the page to Mongolian between two taps), with the same code,
// the same status and the first request's id.
func TestAReplayedRefusalIsWordedForTheRetry(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	cat, err := locale.Load()
	if err != nil {
		t.Fatal(err)
	}
	me := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "replay-lang", me.Name, me.IDNumber)
	if st, b := cl.Do("POST", "/api/v1/enrolments", tok, map[string]string{"person": "self", "scheme": "flexible_pension", "region_code": "150100"}); st != 201 {
		t.Fatalf("enrol %d %s", st, b)
	}
	var pb struct {
		Items []struct {
			PayableID  string `json:"payable_id"`
			PeriodFrom string `json:"period_from"`
		}
	}
	cl.DoJSON("POST", "/api/v1/payables/query", tok, map[string]string{"person": "self"}, &pb)
	if len(pb.Items) == 0 {
		t.Fatal("nothing payable")
	}
	body := map[string]string{"payable_id": pb.Items[0].PayableID, "option_code": "no-such-option", "period_to": pb.Items[0].PeriodFrom}
	first := cl.Send("POST", "/api/v1/declarations", tok, body, "Idempotency-Key", "lang-replay-1")
	if first.Status < 400 || first.Status >= 500 || first.Status == 404 {
		t.Fatalf("a bad option: %d %s (want a refusal that is remembered)", first.Status, first.Body)
	}
	fe := decodeError(t, first)
	again := cl.Send("POST", "/api/v1/declarations", tok, body, "Idempotency-Key", "lang-replay-1", "Accept-Language", "mn-Mong")
	if again.Status != first.Status || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d replayed=%q %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	ae := decodeError(t, again)
	want := cat.Message(locale.Mongolian, "error."+fe.Error.Code, "")
	if ae.Error.Code != fe.Error.Code || ae.Error.Message != want || ae.Error.RequestID != fe.Error.RequestID || ae.Error.Reason != fe.Error.Reason {
		t.Fatalf("replayed in Mongolian = %+v, first %+v, want message %q", ae.Error, fe.Error, want)
	}
	if again.Header.Get("Content-Language") != string(locale.Mongolian) {
		t.Fatalf("replay Content-Language %q", again.Header.Get("Content-Language"))
	}
}

// TestAFixedReasonIsWordedToo: the few reasons fixed on a sentinel (here
// the staff role refusal, "当前岗位无权办理此事项") are catalogued like
// messages and reach a Mongolian reader in Mongolian.
func TestAFixedReasonIsWordedToo(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	cat, err := locale.Load()
	if err != nil {
		t.Fatal(err)
	}
	toks := hallTokens(t, env, cl)
	e := models.ErrRoleForbidden
	for _, lc := range []struct {
		accept, message, reason string
	}{
		{"zh-CN", e.Message, e.Reason},
		{"mn-Mong", cat.Message(locale.Mongolian, "error.FORBIDDEN", ""), cat.Message(locale.Mongolian, "error.FORBIDDEN.reason", "")},
	} {
		r := cl.Send("GET", "/api/v1/staff/accounts", toks["tax1"], nil, "Accept-Language", lc.accept)
		if r.Status != http.StatusForbidden {
			t.Fatalf("a tax window lists staff accounts: %d %s", r.Status, r.Body)
		}
		got := decodeError(t, r)
		if got.Error.Message != lc.message || got.Error.Reason != lc.reason || lc.reason == "" {
			t.Errorf("%s: %q / %q, want %q / %q", lc.accept, got.Error.Message, got.Error.Reason, lc.message, lc.reason)
		}
	}
}
