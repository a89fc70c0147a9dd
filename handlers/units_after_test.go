package handlers_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/textproto"
	"testing"

	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
)

var pngFile = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{9}, 200)...)

// multipartBody is a createUpload body: the file under field file with the
// given name and declared type, and unit_id when set.
func multipartBody(t *testing.T, name, declared string, content []byte, unitID string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if unitID != "" {
		if err := w.WriteField("unit_id", unitID); err != nil {
			t.Fatal(err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", declared)
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func uploadHTTP(t *testing.T, cl *apitest.Client, tok, name, declared string, content []byte, unitID string) *apitest.Response {
	t.Helper()
	body, ct := multipartBody(t, name, declared, content, unitID)
	return cl.Send("POST", "/api/v1/uploads", tok, body, "Content-Type", ct)
}

// unitRig is a paid unit over HTTP: its legal representative's token, an
// operator's, another unit's representative's and a stranger's.
type unitRig struct {
	pu                         servicetest.PaidUnit
	rep, op, otherRep, strange string
	other                      servicetest.PaidUnit
}

func newUnitRig(t *testing.T, env *servicetest.Env, cl *apitest.Client) unitRig {
	t.Helper()
	ctx := context.Background()
	var r unitRig
	zhang, li, zhao, liu := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英"), servicetest.Person(t, "赵海峰"), servicetest.Person(t, "刘建华")
	r.rep = loginAs(t, cl, "unit-rep", zhang.Name, zhang.IDNumber)
	r.otherRep = loginAs(t, cl, "other-rep", li.Name, li.IDNumber)
	r.op = loginAs(t, cl, "unit-op", zhao.Name, zhao.IDNumber)
	r.strange = loginAs(t, cl, "stranger", liu.Name, liu.IDNumber)
	sess := func(tok string) people.Session {
		s, err := env.Svc.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	r.pu = servicetest.NewPaidUnitFor(t, env, sess(r.rep), "91150100MA0LB00013", "内蒙古联办示范科技有限公司")
	r.other = servicetest.NewPaidUnitFor(t, env, sess(r.otherRep), "91150100MA0LB0012X", "内蒙古另一家有限公司")
	servicetest.AddUnitOperator(t, env, r.pu.Unit.ID, sess(r.op))
	return r
}

func TestUploadsOverHTTPAreJudgedByTheirContent(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	r := newUnitRig(t, env, cl)
	// A PNG named .pdf and declared as a PDF is a PNG.
	res := uploadHTTP(t, cl, r.rep, "开户许可证.pdf", "application/pdf", pngFile, r.pu.Unit.ID)
	var up struct {
		UploadID    string `json:"upload_id"`
		Size        int64  `json:"size"`
		ContentType string `json:"content_type"`
		SHA256      string `json:"sha256"`
	}
	if res.Status != 201 {
		t.Fatalf("png: %d %s", res.Status, res.Body)
	}
	res.Decode(t, &up)
	if up.ContentType != models.ContentTypePNG || up.Size != int64(len(pngFile)) || len(up.SHA256) != 64 {
		t.Fatalf("upload %+v", up)
	}
	// Text named .pdf is refused for what it is.
	if res := uploadHTTP(t, cl, r.rep, "缴费凭证.pdf", "application/pdf", []byte("just some text, not a PDF"), r.pu.Unit.ID); res.Status != 415 ||
		res.ErrorCode() != "UPLOAD_TYPE_NOT_ALLOWED" {
		t.Fatalf("text as pdf: %d %s", res.Status, res.Body)
	}
	// 10 MB and one byte is too large, whatever it holds; 10 MB exactly is not.
	big := append(append([]byte{}, pngFile...), make([]byte, models.MaxUploadBytes+1-len(pngFile))...)
	if res := uploadHTTP(t, cl, r.rep, "big.png", "image/png", big, r.pu.Unit.ID); res.Status != 413 || res.ErrorCode() != "UPLOAD_TOO_LARGE" {
		t.Fatalf("10 MB + 1: %d %.300s", res.Status, res.Body)
	}
	if res := uploadHTTP(t, cl, r.rep, "ok.png", "image/png", big[:models.MaxUploadBytes], r.pu.Unit.ID); res.Status != 201 {
		t.Fatalf("10 MB: %d %.300s", res.Status, res.Body)
	}
	// A body far over the bound is cut off, not read.
	huge := append(big, make([]byte, 1<<20)...)
	if res := uploadHTTP(t, cl, r.rep, "huge.png", "image/png", huge, ""); res.Status != 413 || res.ErrorCode() != "UPLOAD_TOO_LARGE" {
		t.Fatalf("11 MB: %d %.300s", res.Status, res.Body)
	}
	if n := servicetest.Count(t, env.DB, "uploads", "1 = 1"); n != 2 {
		t.Fatalf("%d uploads stored, want the two accepted", n)
	}
	// Not multipart, or no file.
	if res := cl.Send("POST", "/api/v1/uploads", r.rep, map[string]string{"file": "x"}); res.Status != 400 {
		t.Fatalf("json: %d %s", res.Status, res.Body)
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("unit_id", r.pu.Unit.ID)
	w.Close()
	if res := cl.Send("POST", "/api/v1/uploads", r.rep, b.Bytes(), "Content-Type", w.FormDataContentType()); res.Status != 400 {
		t.Fatalf("no file: %d %s", res.Status, res.Body)
	}
	// For a unit only by those acting for it; and never without a session.
	for _, tok := range []string{r.strange, r.otherRep} {
		if res := uploadHTTP(t, cl, tok, "a.png", "image/png", pngFile, r.pu.Unit.ID); res.Status != 404 {
			t.Fatalf("for someone else's unit: %d %s", res.Status, res.Body)
		}
	}
	if res := uploadHTTP(t, cl, "", "a.png", "image/png", pngFile, ""); res.Status != 401 {
		t.Fatalf("no session: %d", res.Status)
	}
}

func TestAUnitRefundOverHTTPWithItsAttachmentsForTheHall(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	r := newUnitRig(t, env, cl)
	toks := hallTokens(t, env, cl)
	var up struct {
		UploadID string `json:"upload_id"`
	}
	uploadHTTP(t, cl, r.op, "permit.png", "image/png", pngFile, r.pu.Unit.ID).Decode(t, &up)
	var theirs struct {
		UploadID string `json:"upload_id"`
	}
	uploadHTTP(t, cl, r.otherRep, "permit.png", "image/png", pngFile, r.other.Unit.ID).Decode(t, &theirs)
	path := "/api/v1/units/" + r.pu.Unit.ID + "/refunds"
	body := func(attach ...string) map[string]any {
		return map[string]any{"order_no": r.pu.OrderNo, "scheme": "enterprise_pension", "refund_fen": r.pu.Pension, "reason": "overpaid",
			"reason_detail": "多报一人", "bank_account": r.pu.UnitAccount(), "attachments": attach}
	}
	for _, tok := range []string{r.strange, r.otherRep} {
		if res := cl.Send("POST", path, tok, body(up.UploadID)); res.Status != 404 {
			t.Fatalf("stranger files: %d %s", res.Status, res.Body)
		}
		if res := cl.Send("GET", path, tok, nil); res.Status != 404 {
			t.Fatalf("stranger lists: %d %s", res.Status, res.Body)
		}
	}
	if res := cl.Send("POST", path, r.rep, body(theirs.UploadID)); res.Status != 404 {
		t.Fatalf("another unit's attachment: %d %s", res.Status, res.Body)
	}
	if res := cl.Send("POST", path, r.rep, body()); res.Status != 400 {
		t.Fatalf("no attachment: %d %s", res.Status, res.Body)
	}
	bad := body(up.UploadID)
	bad["bank_account"] = map[string]string{"bank_name": "中国银行", "account_name": "张三明", "account_no": "6216610200001234567"}
	if res := cl.Send("POST", path, r.rep, bad); res.Status != 400 || res.ErrorCode() != "BANK_ACCOUNT_INVALID" {
		t.Fatalf("the representative's own account: %d %s", res.Status, res.Body)
	}
	var ref struct {
		RefundNo string `json:"refund_no"`
		UnitName string `json:"unit_name"`
		Uploads  []struct {
			UploadID string `json:"upload_id"`
		} `json:"uploads"`
	}
	res := cl.Send("POST", path, r.rep, body(up.UploadID))
	if res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	res.Decode(t, &ref)
	if ref.UnitName != r.pu.Unit.Name || len(ref.Uploads) != 1 {
		t.Fatalf("refund %s", res.Body)
	}
	if res := cl.Send("POST", path, r.op, body(up.UploadID)); res.Status != 409 {
		t.Fatalf("a second one: %d %s", res.Status, res.Body)
	}
	var list struct {
		Items []struct {
			RefundNo string `json:"refund_no"`
		} `json:"items"`
	}
	if st := cl.DoJSON("GET", path, r.op, nil, &list); st != 200 || len(list.Items) != 1 {
		t.Fatalf("operator's list %d %+v", st, list)
	}
	if res := cl.Send("GET", "/api/v1/refunds/"+ref.RefundNo, r.op, nil); res.Status != 200 {
		t.Fatalf("operator reads it: %d", res.Status)
	}
	for _, tok := range []string{r.strange, r.otherRep} {
		if res := cl.Send("GET", "/api/v1/refunds/"+ref.RefundNo, tok, nil); res.Status != 404 {
			t.Fatalf("stranger reads it: %d", res.Status)
		}
	}
	// The hall: the tax window sees and downloads the file; the download is audited.
	att := "/api/v1/staff/refunds/" + ref.RefundNo + "/attachments/" + up.UploadID
	dl := cl.Send("GET", att, toks["tax1"], nil)
	if dl.Status != 200 || !bytes.Equal(dl.Body, pngFile) || dl.Header.Get("Content-Type") != models.ContentTypePNG ||
		dl.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download %d %v", dl.Status, dl.Header)
	}
	if n := servicetest.Count(t, env.DB, "audit_log", "action = ? AND outcome = ?", "refund.attachment", "ok"); n != 1 {
		t.Fatalf("%d audited downloads", n)
	}
	if res := cl.Send("GET", "/api/v1/staff/refunds/"+ref.RefundNo+"/attachments/"+theirs.UploadID, toks["tax1"], nil); res.Status != 404 {
		t.Fatalf("a file not on the application: %d", res.Status)
	}
	if res := cl.Send("GET", att, toks["si1"], nil); res.Status != 403 {
		t.Fatalf("社保 before it is forwarded: %d", res.Status)
	}
	if res := cl.Send("GET", att, r.rep, nil); res.Status != 401 {
		t.Fatalf("a citizen token on the staff route: %d", res.Status)
	}
	var sv struct {
		UnitUSCC string `json:"unit_uscc"`
		Uploads  []any  `json:"uploads"`
	}
	if st := cl.DoJSON("GET", "/api/v1/staff/refunds/"+ref.RefundNo, toks["tax1"], nil, &sv); st != 200 || sv.UnitUSCC != r.pu.Unit.USCC || len(sv.Uploads) != 1 {
		t.Fatalf("staff view %d %+v", st, sv)
	}
}
