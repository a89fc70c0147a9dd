package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/pquerna/otp/totp"
)

// TestHallWorksARefundCaseInTheConsole: a citizen's pension refund worked
// end to end in the console by the three roles of its path (税务 accepts,
// 社保 approves, 税务 pays back), then read and exported by the auditor;
// each role's menu shows its own work only, the session never reaches the
// page's script or storage, and an idle session warns and then ends.
func TestHallWorksARefundCaseInTheConsole(t *testing.T) {
	s := newSite(t)
	env := s.Env
	ctx := context.Background()
	sess, pay := servicetest.PensionPaid(t, env)
	r := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: pay.Scheme, OrderNo: pay.OrderNo, RefundFen: pay.AmountFen})
	no := r.RefundNo
	// 赵海峰 paid 张小雨's resident medical insurance (代缴) and applies for
	// it back: neither the person nor a guardian, so the hall sees it
	// first, with a warning.
	kid, zhao := servicetest.Person(t, "张小雨"), servicetest.Person(t, "赵海峰")
	member := servicetest.Family(t, env, sess, kid.Name, kid.IDNumber, people.RelationChild)
	servicetest.EnrolMedical(t, env, sess, people.PersonRef{MemberID: member.MemberID})
	payer := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
	inline := people.PersonRef{Name: kid.Name, IDNumber: kid.IDNumber}
	paid := servicetest.PayAndCreditFor(t, env, payer, inline, models.SchemeResidentMedical)
	flagged, err := env.Svc.CreateRefund(ctx, payer.UserID, refunds.RefundInput{Person: inline,
		Scheme: models.SchemeResidentMedical, OrderNo: paid.OrderNo, RefundFen: paid.AmountFen, Reason: models.ReasonWronglyCollected})
	if err != nil {
		t.Fatal(err)
	}
	// His company applies for part of its pension back, with a photo of
	// its 开户许可证: a unit's case on the same path.
	pu := servicetest.NewPaidUnitFor(t, env, sess, "91150100MA0LB00013", "内蒙古联办示范科技有限公司")
	permit := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 300)...)
	up, err := env.Svc.CreateUpload(ctx, sess.UserID, pu.Unit.ID, bytes.NewReader(permit), int64(len(permit)))
	if err != nil {
		t.Fatal(err)
	}
	unitCase, err := env.Svc.CreateUnitRefund(ctx, sess.UserID, pu.Unit.ID, refunds.UnitRefundInput{OrderNo: pu.OrderNo,
		Scheme: models.SchemeEnterprisePension, RefundFen: models.Fen(pu.Pension), Reason: models.ReasonOverpaid,
		ReasonDetail: "多报一人", BankAccount: pu.UnitAccount(), Attachments: []string{up.UploadID}})
	if err != nil {
		t.Fatal(err)
	}
	// A notification for an order that does not exist: an anomaly for the
	// tax window.
	env.Svc.Anomaly(ctx, "notify", "sandbox", "LB_unknown", "unknown_order", "通知的订单号不存在")
	// 李秀英, his mother, is enrolled for resident medical insurance and
	// pays at the hall's window.
	mom := servicetest.Person(t, "李秀英")
	mm := servicetest.Family(t, env, sess, mom.Name, mom.IDNumber, people.RelationParent)
	servicetest.EnrolMedical(t, env, sess, people.PersonRef{MemberID: mm.MemberID})

	// 税务窗口: the queue, the case, 受理.
	tax := s.open(t, Desk)
	tax.consoleLogin("tax1")
	tax.menuIs("tax_window", "refunds", "anomalies", "hall", "password")
	tax.sessionStaysOutOfTheScript()
	tax.waitJS(`!!document.querySelector('a[data-refund="`+no+`"]')`, "the application in the queue")
	tax.waitJS(`!!document.querySelector('table.flagged a[data-refund="`+flagged.RefundNo+`"]') && !document.querySelector('table.flagged a[data-refund="`+no+`"]')`,
		"the payer's application for someone else listed first")
	tax.shot("tax-queue")
	tax.axe("refund queue")

	// The flagged one is refused with every reason at once (一次性告知).
	tax.run(chromedp.Click(`a[data-refund="` + flagged.RefundNo + `"]`))
	tax.waitJS(`!!document.querySelector(".warn li") && !!document.querySelector("#refuse")`, "the applicant warning")
	tax.run(chromedp.Click(`form.refuse label:nth-of-type(1) input`), chromedp.Click(`form.refuse label:nth-of-type(3) input`),
		chromedp.SendKeys(`form.refuse textarea`, "请提供与参保人关系的证明"))
	tax.shot("tax-refuse-checklist")
	tax.run(chromedp.Click("#refuse"))
	tax.waitJS(`!!document.querySelector('[data-status="refused"]')`, "the application refused")
	for _, reason := range []string{"申请材料不齐全", "申请人身份信息与缴费记录不符", "请提供与参保人关系的证明"} {
		tax.waitText(`.timeline [data-step="refused"]`, reason)
	}
	tax.shot("tax-refused")
	tax.eval(`location.hash = "#/refunds"; true`)
	tax.waitJS(`!!document.querySelector('a[data-refund="`+no+`"]')`, "the queue again")

	// The unit's case: only units, then its attachment downloaded through
	// the API with the session.
	tax.run(chromedp.Click(`input[name="units"]`))
	tax.waitJS(`!!document.querySelector('a[data-refund="`+unitCase.RefundNo+`"]') && !document.querySelector('a[data-refund="`+no+`"]')`, "only the unit's case")
	tax.run(chromedp.Click(`a[data-refund="` + unitCase.RefundNo + `"]`))
	tax.waitJS(`!!document.querySelector('[data-upload="`+up.UploadID+`"]')`, "the unit's attachment")
	taxDownloads := t.TempDir()
	if _, err := chromedp.CallBrowser(tax.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: taxDownloads}); err != nil {
		t.Fatal(err)
	}
	tax.run(chromedp.Click(`[data-upload="` + up.UploadID + `"]`))
	tax.waitText("#status", "已下载")
	if got := waitAnyFile(t, taxDownloads); got != string(permit) {
		t.Fatalf("the downloaded attachment differs: %d bytes", len(got))
	}
	tax.shot("tax-unit-case")
	tax.axe("unit case")
	tax.eval(`location.hash = "#/refunds"; true`)
	tax.run(chromedp.Click(`input[name="units"]`))
	tax.waitJS(`!!document.querySelector('a[data-refund="`+no+`"]')`, "the whole queue again")
	tax.run(chromedp.Click(`a[data-refund="` + no + `"]`))
	tax.waitText("#case-head", no)
	tax.waitText(".timeline", "已提交")
	tax.waitJS(`!!document.querySelector("#accept") && !!document.querySelector("form.refuse input[name=reason]")`, "accept and the refusal checklist")
	tax.shot("tax-case")
	tax.axe("case page (tax window)")
	tax.run(chromedp.Click("#accept"))
	tax.waitJS(`!!document.querySelector('[data-status="forwarded"]')`, "the case forwarded to 社保")
	tax.waitText("#status", no)
	tax.shot("tax-accepted")

	// 社保复核: the same case, approved.
	si := s.open(t, Desk)
	si.consoleLogin("si1")
	si.menuIs("si_reviewer", "refunds", "anomalies", "password")
	si.waitJS(`!!document.querySelector('a[data-refund="`+no+`"]')`, "the forwarded application in 社保's queue")
	si.run(chromedp.Click(`a[data-refund="` + no + `"]`))
	si.waitJS(`!!document.querySelector("#review")`, "the review form")
	si.shot("si-review")
	si.axe("case page (reviewer)")
	si.run(chromedp.Click("#review"))
	si.waitJS(`!!document.querySelector('[data-status="approved"]')`, "the case approved")
	si.shot("si-approved")
	// A reload forgets the CSRF token kept in the page's memory: the
	// console asks for a login again.
	si.run(chromedp.Reload())
	si.waitJS(`!!document.querySelector('input[name="totp"]') && document.getElementById("nav").hidden`, "the login form after a reload")

	// 税务窗口 again (the same session): 退费, then the payout runs.
	tax.eval(`location.hash = "#/refunds"; true`)
	tax.waitJS(`!!document.querySelector('a[data-refund="`+no+`"]')`, "the queue again")
	tax.run(chromedp.Click(`a[data-refund="` + no + `"]`))
	tax.waitJS(`!!document.querySelector("#execute")`, "the execute button")
	tax.run(chromedp.Click("#execute"))
	tax.waitJS(`!!document.querySelector('[data-status="refunding"], [data-status="refunded"]')`, "the refund started")
	s.work(t)
	tax.eval(`location.hash = "#/refunds"; true`)
	tax.waitJS(`!!document.querySelector('a[data-refund="`+no+`"]')`, "the queue after the payout")
	tax.run(chromedp.Click(`a[data-refund="` + no + `"]`))
	tax.waitJS(`!!document.querySelector('[data-status="refunded"]') && !!document.querySelector('[data-payout="success"]')`, "the case done")
	tax.waitText(".timeline", "已退费")
	tax.shot("tax-refunded")
	// The anomaly queue: the tax window closes its anomaly with a reason.
	tax.run(chromedp.Click(`[data-nav="anomalies"]`))
	tax.waitText("#app table", "LB_unknown")
	tax.axe("anomaly queue (tax window)")
	tax.run(chromedp.Click(`#app table a`))
	tax.waitJS(`!!document.querySelector("form.resolve")`, "the resolve form")
	tax.run(chromedp.SendKeys(`form.resolve textarea`, "已与渠道核实，无此交易"), chromedp.Click(`form.resolve button[type="submit"]`))
	tax.waitText("#status", "异常已处理")
	tax.waitText("#app .facts", "已与渠道核实，无此交易")
	tax.shot("tax-anomaly-resolved")
	tax.axe("anomaly page")
	// The counter payment: the window looks a person up.
	tax.run(chromedp.Click(`[data-nav="hall"]`))
	tax.waitJS(`!!document.querySelector('input[name="id_number"]')`, "the counter payment form")
	tax.run(chromedp.SendKeys(`input[name="name"]`, mom.Name), chromedp.SendKeys(`input[name="id_number"]`, mom.IDNumber),
		chromedp.Click(`form.filters button[type="submit"]`))
	tax.waitText("#app h2", "李*英")
	tax.waitJS(`!!document.querySelector("form.pay")`, "the payable to pay at the window")
	tax.run(chromedp.SendKeys(`form.pay input[name="payer_name"]`, "张三明"), chromedp.SetValue(`form.pay select[name="relation"]`, "family"),
		chromedp.Click(`form.pay button[type="submit"]`))
	tax.waitJS(`!!document.querySelector("form.pay .ok")`, "the counter order opened")
	tax.waitText("form.pay .ok", "LB")
	tax.shot("tax-hall-payment")
	tax.axe("counter payment")

	// 审计员: the log shows the three steps; the export downloads.
	au := s.open(t, Desk)
	// A wrong code is refused with the API's words, not which part was wrong.
	au.visit("/console/")
	au.waitJS(`!!document.querySelector('input[name="totp"]')`, "the login form")
	au.run(chromedp.SendKeys(`input[name="username"]`, "auditor1"), chromedp.SendKeys(`input[name="password"]`, servicetest.HallPassword),
		chromedp.SendKeys(`input[name="totp"]`, "000000"), chromedp.Click(`form.login button[type="submit"]`))
	au.waitText(`form.login [role="alert"]`, "用户名、密码或动态口令错误")
	au.consoleLogin("auditor1")
	au.menuIs("auditor", "anomalies", "audit", "password")
	au.axe("anomaly queue")
	au.shot("auditor-anomalies")
	au.run(chromedp.Click(`[data-nav="audit"]`))
	for _, action := range []string{"refund.accept", "refund.review", "refund.execute"} {
		au.waitJS(`!!document.querySelector('code[data-action="`+action+`"]')`, action+" in the audit log")
	}
	au.shot("auditor-log")
	au.axe("audit log")
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(au.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	au.run(chromedp.Click("#export"))
	au.waitText("#status", "lianban-audit.csv")
	csv := waitFile(t, filepath.Join(dir, "lianban-audit.csv"))
	for _, action := range []string{"refund.accept", "refund.review", "refund.execute", no} {
		if !strings.Contains(csv, action) {
			t.Errorf("the exported audit log lacks %s", action)
		}
	}
	// The Mongolian switch: every string of the screen is there.
	au.run(chromedp.Click(`[data-lang="mn-Mong"]`))
	au.waitJS(`document.documentElement.lang === "mn-Mong" && document.body.innerText.indexOf("⟦") < 0 && !!document.querySelector("code[data-action]")`, "the audit log in Mongolian")
	au.shot("auditor-log-mn")
	au.axe("audit log (Mongolian)")
	au.run(chromedp.Click(`[data-lang="zh-CN"]`))

	// 系统管理员: accounts only; a new account's secrets are shown once.
	ad := s.open(t, Desk)
	ad.consoleLogin("admin1")
	ad.menuIs("admin", "accounts", "partners", "password")
	ad.run(chromedp.SendKeys(`input[name="username"]`, "tax7"))
	ad.run(chromedp.Click(`form.filters button[type="submit"]`))
	ad.waitJS(`!!document.querySelector('[data-secret="password"]') && document.querySelector('[data-secret="totp"]').textContent.length >= 16`, "the one-time credentials")
	ad.shot("admin-new-account")
	ad.axe("accounts")
	ad.run(chromedp.Click(".secret button"))
	ad.waitJS(`!document.querySelector('[data-secret]')`, "the credentials gone once noted")

	// Idle: two minutes before the server's 30 the console warns; going on
	// keeps the session; at 30 it logs out.
	tax.eval(`(function(){ const real = Date.now.bind(Date); window.__shift = 0; Date.now = function(){ return real() + window.__shift; }; window.__shift = 28.5*60*1000; return true; })()`)
	tax.waitJS(`document.getElementById("idle").open && document.getElementById("idle-text").textContent.length > 0`, "the idle warning")
	tax.shot("idle-warning")
	tax.axe("idle warning")
	tax.run(chromedp.Click("#idle-continue"))
	tax.waitJS(`!document.getElementById("idle").open`, "the warning closed after continuing")
	tax.eval(`window.__shift += 30.5*60*1000; true`)
	tax.waitJS(`!!document.querySelector('input[name="totp"]') && document.getElementById("nav").hidden`, "the idle logout")
	tax.waitText("#app", "30")
	tax.shot("idle-logged-out")
	if tax.hasSessionCookie() {
		t.Fatal("the idle logout left the session cookie in the browser")
	}

	for _, p := range []*page{tax, si, au, ad} {
		p.checkPage()
	}
}

// consoleLogin signs username in through the console's login form.
func (p *page) consoleLogin(username string) {
	p.t.Helper()
	p.visit("/console/")
	p.consoleLoginWith(username, servicetest.HallPassword)
}

// consoleLoginWith fills the login form on screen with username, password
// and a code of the test clock's current step.
func (p *page) consoleLoginWith(username, password string) {
	p.t.Helper()
	p.waitJS(`!!document.querySelector('input[name="totp"]') && document.body.innerText.indexOf("⟦") < 0`, "the login form")
	code, err := totp.GenerateCode(servicetest.HallTOTP, p.site.Env.Clock.Now())
	if err != nil {
		p.t.Fatal(err)
	}
	if p.site.n == 0 {
		p.axe("login")
		p.shot("login")
	}
	p.run(chromedp.SendKeys(`input[name="username"]`, username),
		chromedp.SendKeys(`input[name="password"]`, password),
		chromedp.SendKeys(`input[name="totp"]`, code),
		chromedp.Click(`form.login button[type="submit"]`))
	// #who keeps the last user's name while signed out: the menu shows
	// only once this login is through.
	p.waitJS(`!document.getElementById("nav").hidden`, "the menu after signing in")
	p.waitText("#who", username)
}

// menuIs checks the menu shows exactly the areas of role.
func (p *page) menuIs(role string, want ...string) {
	p.t.Helper()
	got := eval[[]string](p, `Array.from(document.querySelectorAll("[data-nav]")).map(a => a.dataset.nav)`)
	if !slices.Equal(got, want) {
		p.fail("%s's menu: %v, want %v", role, got, want)
	}
}

// sessionStaysOutOfTheScript checks the session cookie is HttpOnly,
// Secure and SameSite=Strict on the staff API's path, and that its token
// is nowhere the page's script can read: not in document.cookie, storage
// or the address.
func (p *page) sessionStaysOutOfTheScript() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.site.URL + "/api/v1/staff/me"}})
	if err != nil {
		p.t.Fatal(err)
	}
	var token string
	for _, c := range res.Cookies {
		if c.Name == "lb_staff" {
			if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/api/v1/staff" {
				p.fail("session cookie %+v", c)
			}
			token = c.Value
		}
	}
	if !strings.HasPrefix(token, "stf_") {
		p.fail("no staff session cookie in the browser: %+v", res.Cookies)
	}
	seen := eval[string](p, `document.cookie + "|" + JSON.stringify(Object.assign({}, localStorage)) + "|" + JSON.stringify(Object.assign({}, sessionStorage)) + "|" + location.href`)
	if strings.Contains(seen, token) || strings.Contains(seen, "stf_") || strings.Contains(seen, "lb_staff") {
		p.fail("the session token is readable by the page: %q", seen)
	}
}

// hasSessionCookie reports whether the browser holds a staff session cookie.
func (p *page) hasSessionCookie() bool {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.site.URL + "/api/v1/staff/me"}})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "lb_staff" {
			return true
		}
	}
	return false
}

// eval evaluates js for its effect.
func (p *page) eval(js string) {
	p.t.Helper()
	eval[bool](p, js)
}

// waitAnyFile waits for the one download in dir and returns its content.
func waitAnyFile(t *testing.T, dir string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, n := range names {
			if strings.HasSuffix(n, ".crdownload") {
				continue
			}
			if b, err := os.ReadFile(n); err == nil && len(b) > 0 {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no download in %s", dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFile waits for a download to finish and returns its content.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no download at %s", path)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAStaffMemberChangesTheirPasswordInTheConsole: a window clerk replaces
// the password an admin handed over. A typo in the repeat is caught before
// any request; a wrong current password is refused and the session goes
// on; the change ends the session, the login form says why, and from then
// on only the new password signs in.
func TestAStaffMemberChangesTheirPasswordInTheConsole(t *testing.T) {
	s := newSite(t)
	p := s.open(t, Desk)
	p.consoleLogin("tax1")
	p.run(chromedp.Click(`[data-nav="password"]`))
	p.waitJS(`!!document.querySelector('input[name="new_password_again"]')`, "the password form")
	p.shot("password")
	p.axe("password")
	const fresh = "a-new-hall-password-2026"
	// nextCode moves the test clock to the next TOTP step: a step is used
	// once, by the login or by a change.
	nextCode := func() string {
		t.Helper()
		s.Env.Clock.Advance(30 * time.Second)
		code, err := totp.GenerateCode(servicetest.HallTOTP, s.Env.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	change := func(current, next, again, code string) {
		t.Helper()
		p.run(chromedp.SetValue(`input[name="current_password"]`, current), chromedp.SetValue(`input[name="new_password"]`, next),
			chromedp.SetValue(`input[name="new_password_again"]`, again), chromedp.SetValue(`input[name="totp"]`, code),
			chromedp.Click(`#app form button[type="submit"]`))
	}
	change(servicetest.HallPassword, fresh, fresh+"x", nextCode())
	p.waitText("#app .error", "不一致")
	change("not-the-password", fresh, fresh, nextCode())
	p.waitJS(`document.querySelector("#app .error").textContent.indexOf("不一致") < 0 && document.querySelector("#app .error").textContent.length > 0`, "the refusal")
	p.shot("password-refused")
	if eval[bool](p, `document.getElementById("nav").hidden || !document.querySelector('input[name="new_password_again"]')`) {
		t.Fatal("a wrong current password ended the session")
	}
	change(servicetest.HallPassword, fresh, fresh, nextCode())
	p.waitJS(`!!document.querySelector('input[name="username"]') && document.getElementById("nav").hidden && document.body.innerText.indexOf("密码已修改") >= 0`,
		"the login form saying the password was changed")
	p.shot("password-changed")
	p.axe("login after the change")

	if _, err := s.Env.Svc.LoginStaff(context.Background(), hall.StaffLoginInput{Username: "tax1", Password: servicetest.HallPassword, TOTP: nextCode()},
		servicetest.HallMeta); !errors.Is(err, models.ErrStaffLoginFailed) {
		t.Fatalf("the old password: %v, want a failed login", err)
	}
	nextCode()
	p.consoleLoginWith("tax1", fresh)
	p.menuIs("tax_window", "refunds", "anomalies", "hall", "password")
	p.checkPage()
}

// TestAnAdminManagesACounterPartnerInTheConsole: the admin makes a bank a
// partner of the counter API, hands over its key's secret (shown once),
// rotates, retires the old key, and stops and restarts the bank. After
// each step a request signed as the bank's terminal would sign it is
// checked against the server: the secret the page showed signs, a retired
// key does not, and a stopped partner is refused whatever its key.
func TestAnAdminManagesACounterPartnerInTheConsole(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	ad := s.open(t, Desk)
	ad.consoleLogin("admin1")
	ad.run(chromedp.Click(`[data-nav="partners"]`))
	ad.waitJS(`!!document.querySelector('input[name="partner_id"]')`, "the partner form")
	// signs reports whether the server takes a request signed with key as
	// the bank's (anything but 401: this empty query is refused later, as
	// malformed).
	signs := func(key string) bool {
		t.Helper()
		c := &partner.Client{BaseURL: s.URL, PartnerID: "test-bank", Key: []byte(key), Clock: s.Env.Clock}
		r, err := c.Do(ctx, "POST", "/partner/v1/payables/query", []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		return r.Status != http.StatusUnauthorized
	}
	// shown reads the key id and secret on screen, then closes them as
	// handed over.
	shown := func() (keyID, secret string) {
		t.Helper()
		ad.waitJS(`!!document.querySelector('[data-secret="partner"]') && document.querySelector('[data-secret="partner"]').textContent.length >= 32`, "the key's secret")
		keyID = eval[string](ad, `document.querySelectorAll(".secret code")[1].textContent`)
		secret = eval[string](ad, `document.querySelector('[data-secret="partner"]').textContent`)
		ad.run(chromedp.Click(".secret button"))
		ad.waitJS(`!document.querySelector('[data-secret]')`, "the secret gone once noted")
		if eval[bool](ad, fmt.Sprintf(`document.body.innerHTML.indexOf(%q) >= 0`, secret)) {
			t.Fatal("the secret is still in the page")
		}
		return keyID, secret
	}

	ad.run(chromedp.SetValue(`input[name="partner_id"]`, "test-bank"), chromedp.SetValue(`input[name="name"]`, "测试银行"),
		chromedp.Click(`#app form button[type="submit"]`))
	ad.waitText("#app .error", "至少选择")
	ad.run(chromedp.Click(`input[value="bank_counter"]`), chromedp.Click(`#app form button[type="submit"]`))
	ad.waitJS(`!!document.querySelector('[data-secret="partner"]')`, "the first key's secret")
	ad.shot("partner-created")
	ad.axe("partner created")
	firstKey, first := shown()
	ad.waitText("#app table", "测试银行")
	if !signs(first) || signs("not-the-secret") {
		t.Fatal("the secret shown does not sign for the bank, or another does")
	}

	// The page asks before each change; the test says yes.
	ad.eval(`window.confirm = function () { return true; }; true`)
	ad.run(chromedp.Click(`[data-rotate="test-bank"]`))
	_, second := shown()
	if !signs(first) || !signs(second) {
		t.Fatal("after a rotation both keys should sign until the old one is retired")
	}
	ad.waitJS(`document.querySelectorAll("[data-retire]").length === 2`, "two live keys, each retirable")
	ad.shot("partner-two-keys")
	ad.axe("partner with two keys")
	ad.run(chromedp.Click(`[data-retire="` + firstKey + `"]`))
	ad.waitJS(`document.querySelectorAll("[data-retire]").length === 0`, "one live key left, not retirable")
	if signs(first) || !signs(second) {
		t.Fatal("the retired key still signs, or the new one stopped")
	}
	ad.run(chromedp.Click(`[data-toggle="test-bank"]`))
	ad.waitText("#app table", "已停用")
	if signs(second) {
		t.Fatal("a stopped partner's key still signs")
	}
	ad.run(chromedp.Click(`[data-toggle="test-bank"]`))
	ad.waitJS(`document.querySelector('[data-toggle="test-bank"]').textContent === "停用"`, "the bank active again")
	if !signs(second) {
		t.Fatal("the restarted partner's key does not sign")
	}
	ad.checkPage()
}
