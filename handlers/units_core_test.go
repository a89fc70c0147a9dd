package handlers_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// unitOwner is a legal representative with a bound, registered unit and
// an operator (办税员).
type unitOwner struct {
	token, opToken, unitID, operatorID string
}

func makeUnitOwner(t *testing.T, cl *apitest.Client) unitOwner {
	t.Helper()
	me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	o := unitOwner{token: loginAs(t, cl, "unit-rep", me.Name, me.IDNumber), opToken: loginAs(t, cl, "unit-op", mom.Name, mom.IDNumber)}
	var u struct {
		UnitID string `json:"unit_id"`
	}
	if st := cl.DoJSON("POST", "/api/v1/units", o.token, map[string]string{"uscc": "91150100MA0LB00013", "name": "内蒙古联办示范科技有限公司"}, &u); st != 201 {
		t.Fatalf("bind %d", st)
	}
	o.unitID = u.UnitID
	for _, sc := range []string{"enterprise_pension", "enterprise_medical"} {
		if st, b := cl.Do("POST", "/api/v1/units/"+o.unitID+"/registrations", o.token, map[string]string{"scheme": sc, "region_code": "150100"}); st != 201 {
			t.Fatalf("register %s: %d %s", sc, st, b)
		}
	}
	var op struct {
		OperatorID string `json:"operator_id"`
	}
	if st := cl.DoJSON("POST", "/api/v1/units/"+o.unitID+"/operators", o.token, map[string]string{"name": mom.Name, "id_number": mom.IDNumber}, &op); st != 201 {
		t.Fatalf("add operator %d", st)
	}
	o.operatorID = op.OperatorID
	return o
}

// multipartRoster is a multipart body with the roster file.
func multipartRoster(t *testing.T, filename string, content []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// rosterID is the i-th test employee's ID number (none a demo person's).
func rosterID(i int) string {
	return models.MakeIDNumber("150102", time.Date(1980, 1, 1+i, 0, 0, 0, 0, time.UTC), 51+i)
}

// badCheck is id with a wrong check character.
func badCheck(id string) string {
	if id[17] == '0' {
		return id[:17] + "1"
	}
	return id[:17] + "0"
}

func TestUnitCoreJourneyOverHTTP(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	r := cl.Send("POST", "/api/v1/units", loginAs(t, cl, "nobody-yet", "王建国", servicetest.Person(t, "王建国").IDNumber),
		map[string]string{"uscc": "91150100MA0LB00014", "name": "x"})
	if r.Status != 400 || r.ErrorCode() != "USCC_INVALID" {
		t.Fatalf("bad USCC: %d %s", r.Status, r.Body)
	}
	o := makeUnitOwner(t, cl)
	base := "/api/v1/units/" + o.unitID
	if r := cl.Send("GET", "/api/v1/units", o.token, nil); r.Status != 200 || !strings.Contains(string(r.Body), o.unitID) {
		t.Fatalf("list units %d %s", r.Status, r.Body)
	}
	if r := cl.Send("GET", base+"/registrations", o.opToken, nil); r.Status != 200 {
		t.Fatalf("operator lists registrations: %d", r.Status)
	}
	if r := cl.Send("POST", base+"/registrations", o.token, map[string]string{"scheme": "enterprise_pension", "region_code": "150100"}); r.Status != 409 || r.ErrorCode() != "UNIT_SCHEME_REGISTERED" {
		t.Fatalf("second registration %d %s", r.Status, r.Body)
	}
	if r := cl.Send("GET", base+"/operators", o.token, nil); r.Status != 200 {
		t.Fatalf("operators %d", r.Status)
	}

	// Bad input, all refused whole.
	bad := []map[string]any{
		{"name": "甲", "id_number": rosterID(0), "wage_fen": -1, "from_period": "202611"},
		{"name": "乙", "id_number": badCheck(rosterID(1)), "wage_fen": 500000, "from_period": "202613"},
	}
	r = cl.Send("POST", base+"/employees", o.token, bad)
	if r.Status != 422 || r.ErrorCode() != "ROSTER_INVALID" {
		t.Fatalf("bad roster %d %s", r.Status, r.Body)
	}
	var eb struct {
		Error struct {
			Problems []struct {
				Row  int
				Code string
			}
		}
	}
	r.Decode(t, &eb)
	if len(eb.Error.Problems) < 3 {
		t.Fatalf("problems: %s", r.Body)
	}
	for _, body := range []string{`[{"name":"甲","id_number":"` + rosterID(0) + `","wage_fen":1.5,"from_period":"202611"}]`,
		`[{"name":"甲","id_number":"` + rosterID(0) + `","wage_fen":99999999999999999999,"from_period":"202611"}]`, `{"name":"甲"}`} {
		if r := cl.Send("POST", base+"/employees", o.token, body); r.Status != 400 {
			t.Fatalf("%s: %d %s", body, r.Status, r.Body)
		}
	}

	// UTF-8 CSV, GB18030 CSV and XLSX rosters.
	csv := "姓名,身份证号码,缴费工资,起始年月\n张甲," + rosterID(0) + ",6500.50,202611\n"
	body, ct := multipartRoster(t, "roster.csv", []byte(csv))
	if r := cl.Send("POST", base+"/employees", o.token, body, "Content-Type", ct); r.Status != 201 {
		t.Fatalf("utf-8 csv %d %s", r.Status, r.Body)
	}
	gb, err := simplifiedchinese.GB18030.NewEncoder().String("姓名,身份证号码,缴费工资,起始年月\n李乙," + rosterID(1) + ",7000,2026-11\n")
	if err != nil {
		t.Fatal(err)
	}
	body, ct = multipartRoster(t, "roster.csv", []byte(gb))
	if r := cl.Send("POST", base+"/employees", o.token, body, "Content-Type", ct); r.Status != 201 {
		t.Fatalf("gb18030 csv %d %s", r.Status, r.Body)
	}
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "A1", &[]any{"姓名", "身份证号码", "缴费工资", "起始年月"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"王丙", rosterID(2), 8000, "202611"})
	xb, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	body, ct = multipartRoster(t, "roster.xlsx", xb.Bytes())
	if r := cl.Send("POST", base+"/employees", o.token, body, "Content-Type", ct); r.Status != 201 {
		t.Fatalf("xlsx %d %s", r.Status, r.Body)
	}
	body, ct = multipartRoster(t, "roster.xlsx", []byte("%PDF-1.4 not a roster"))
	if r := cl.Send("POST", base+"/employees", o.token, body, "Content-Type", ct); r.Status != 400 || r.ErrorCode() != "ROSTER_UNREADABLE" {
		t.Fatalf("pdf roster %d %s", r.Status, r.Body)
	}
	big := bytes.Repeat([]byte("x"), 6<<20)
	body, ct = multipartRoster(t, "roster.csv", big)
	if r := cl.Send("POST", base+"/employees", o.token, body, "Content-Type", ct); r.Status != 413 {
		t.Fatalf("6 MB roster %d %s", r.Status, r.Body)
	}

	var list struct {
		Items []struct {
			EmployeeID string `json:"employee_id"`
			NameMasked string `json:"name_masked"`
		}
		NextPageToken string `json:"next_page_token"`
	}
	if st := cl.DoJSON("GET", base+"/employees?page_size=4", o.token, nil, &list); st != 200 || len(list.Items) != 4 || list.NextPageToken == "" {
		t.Fatalf("employees %d %+v", st, list)
	}
	if strings.Contains(fmt.Sprint(list.Items), "张甲") {
		t.Fatal("names not masked")
	}
	var p struct {
		TotalFen int64 `json:"total_fen"`
	}
	if st := cl.DoJSON("GET", base+"/payables?period=202611&page_size=2", o.token, nil, &p); st != 200 || p.TotalFen <= 0 {
		t.Fatalf("payables %d %+v", st, p)
	}
	if r := cl.Send("GET", base+"/payables?period=2026", o.token, nil); r.Status != 400 {
		t.Fatalf("bad period %d", r.Status)
	}
	var d struct {
		DeclarationID string `json:"declaration_id"`
		AmountFen     int64  `json:"amount_fen"`
		Status        string
	}
	if st := cl.DoJSON("POST", base+"/declarations", o.opToken, map[string]string{"period": "202611"}, &d); st != 201 || d.AmountFen != p.TotalFen || d.Status != "open" {
		t.Fatalf("declare %d %+v", st, d)
	}
	if r := cl.Send("POST", base+"/declarations", o.token, map[string]string{"period": "202611"}); r.Status != 409 || r.ErrorCode() != "UNIT_DECLARATION_EXISTS" {
		t.Fatalf("second declaration %d %s", r.Status, r.Body)
	}
	if r := cl.Send("POST", base+"/declarations", o.token, map[string]string{"period": "202611", "corrects": d.DeclarationID}); r.Status != 422 {
		t.Fatalf("empty correction %d %s", r.Status, r.Body)
	}
	if r := cl.Send("GET", base+"/declarations/"+d.DeclarationID+"?page_size=2", o.token, nil); r.Status != 200 {
		t.Fatalf("get declaration %d", r.Status)
	}
	if r := cl.Send("DELETE", base+"/employees/"+list.Items[0].EmployeeID+"?to_period=202612", o.token, nil); r.Status != 200 {
		t.Fatalf("remove employee %d %s", r.Status, r.Body)
	}
	if r := cl.Send("DELETE", base+"/employees/"+list.Items[0].EmployeeID+"?to_period=202612", o.token, nil); r.Status != 409 {
		t.Fatalf("remove again %d %s", r.Status, r.Body)
	}
	if r := cl.Send("DELETE", base+"/operators/"+o.operatorID, o.token, nil); r.Status != 204 {
		t.Fatalf("remove operator %d %s", r.Status, r.Body)
	}
}

// TestAStrangerCannotReachAUnit walks every /api/v1/units/{unit_id}/…
// route of the contract — whoever added it — with a real unit's id: a
// verified stranger gets 404 on every one, and an operator gets 403 on
// operator management.
func TestAStrangerCannotReachAUnit(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	o := makeUnitOwner(t, cl)
	stranger := servicetest.Person(t, "赵海峰")
	tok := loginAs(t, cl, "unit-stranger", stranger.Name, stranger.IDNumber)
	var legal struct {
		Items []struct {
			OperatorID string `json:"operator_id"`
			Role       string
		}
	}
	cl.DoJSON("GET", "/api/v1/units/"+o.unitID+"/operators", o.token, nil, &legal)
	walked := 0
	for path, item := range apitest.Load(t).Doc().Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/units/{unit_id}") {
			continue
		}
		concrete := strings.ReplaceAll(path, "{unit_id}", o.unitID)
		for strings.Contains(concrete, "{") {
			i, j := strings.Index(concrete, "{"), strings.Index(concrete, "}")
			concrete = concrete[:i] + "x_none" + concrete[j+1:]
		}
		for method := range item.Operations() {
			walked++
			t.Run(method+" "+path, func(t *testing.T) {
				r := cl.Send(method, concrete+"?period=202611&to_period=202611", tok, map[string]any{})
				if r.Status != http.StatusNotFound {
					t.Fatalf("%s %s as a stranger: %d %s", method, path, r.Status, r.Body)
				}
			})
		}
	}
	if walked < 11 {
		t.Fatalf("walked %d unit routes", walked)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/operators"}, {"POST", "/operators"}, {"DELETE", "/operators/" + legal.Items[0].OperatorID},
	} {
		r := cl.Send(tc.method, "/api/v1/units/"+o.unitID+tc.path, o.opToken, map[string]string{"name": "赵海峰", "id_number": stranger.IDNumber})
		if r.Status != http.StatusForbidden {
			t.Fatalf("%s %s as an operator: %d %s", tc.method, tc.path, r.Status, r.Body)
		}
	}
	if r := cl.Send("GET", "/api/v1/units", tok, nil); r.Status != 200 || strings.Contains(string(r.Body), o.unitID) {
		t.Fatalf("a stranger's unit list: %s", r.Body)
	}
}

// TestRosterBodyDecodesStrictly holds addEmployees, whose body is an
// array, to the rules of every other body: exactly one JSON array and
// nothing after it, over its limit 413 before decoding, and a stranger
// told only that the unit does not exist, whatever the body.
func TestRosterBodyDecodesStrictly(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	o := makeUnitOwner(t, cl)
	path := "/api/v1/units/" + o.unitID + "/employees"
	row := `{"name":"张甲","id_number":"` + rosterID(0) + `","wage_fen":650000,"from_period":"202611"}`
	for _, body := range []string{`[` + row + `]x`, `[` + row + `][]`, `[` + row + `]{}`, `{}`, `null`, `"x"`, `[`, `[` + row + `,]`} {
		if r := cl.Send("POST", path, o.token, body); r.Status != 400 || r.ErrorCode() != "INVALID_ARGUMENT" {
			t.Fatalf("%q: %d %s", body, r.Status, r.Body)
		}
	}
	huge := `[` + strings.Repeat(row+",", (2<<20)/len(row)+1) + row + `]`
	if r := cl.Send("POST", path, o.token, huge); r.Status != 413 || r.ErrorCode() != "BODY_TOO_LARGE" {
		t.Fatalf("%d bytes: %d %.200s", len(huge), r.Status, r.Body)
	}
	stranger := servicetest.Person(t, "赵海峰")
	tok := loginAs(t, cl, "roster-stranger", stranger.Name, stranger.IDNumber)
	for _, body := range []string{`[` + row + `]`, `{}x`, huge} {
		if r := cl.Send("POST", path, tok, body); r.Status != 404 {
			t.Fatalf("stranger: %d %.200s", r.Status, r.Body)
		}
	}
	if r := cl.Send("POST", path, o.token, `[`+row+`]`); r.Status != 201 {
		t.Fatalf("one row: %d %s", r.Status, r.Body)
	}
}
