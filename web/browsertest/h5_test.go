package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/chromedp"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
)

// The citizen H5 in a phone browser: the whole journey in the standard
// page, the same key screens in 长辈版 measured in the page, and the
// Mongolian page. Helpers here are prefixed h5 so they never collide with
// another page's tests in this package.

// h5Tap clicks the first visible element matching sel whose text
// contains text (all of them when text is ""), as a finger would.
func h5Tap(p *page, sel, text string) {
	p.t.Helper()
	js := fmt.Sprintf(`(function(){
		const n = Array.from(document.querySelectorAll(%q)).find(function (x) {
			const r = x.getBoundingClientRect();
			return r.width > 0 && r.height > 0 && x.innerText.indexOf(%q) >= 0;
		});
		if (!n) return false;
		n.scrollIntoView({block: "center"});
		n.click();
		return true;
	})()`, sel, text)
	p.waitJS(js, fmt.Sprintf("%s %q to tap", sel, text))
}

// h5Fill sets a form control by name the way typing would (value, then
// an input event).
func h5Fill(p *page, name, value string) {
	p.t.Helper()
	js := fmt.Sprintf(`(function(){
		const n = document.querySelector("[name=%s]");
		if (!n) return false;
		n.value = %s;
		n.dispatchEvent(new Event("input", {bubbles: true}));
		n.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, name, jsonString(value))
	p.waitJS(js, "field "+name)
}

// h5Screen waits for the screen whose heading contains title.
func h5Screen(p *page, title string) {
	p.t.Helper()
	p.waitText("main h1", title)
	p.waitJS(`document.activeElement === document.querySelector("main h1")`, "focus on the heading of "+title)
}

// h5Submit submits the screen's form.
func h5Submit(p *page) {
	p.t.Helper()
	h5Tap(p, "main form button[type=submit]", "")
}

func h5Home(p *page) {
	p.t.Helper()
	h5Tap(p, "nav.foot a", "")
}

// h5Login logs in with the sandbox login and binds 张三明's identity.
func h5Login(p *page, subject string) {
	p.t.Helper()
	h5Screen(p, loginTitle(p))
	h5Fill(p, "subject", subject)
	h5Submit(p)
	p.waitJS(`document.querySelector("[name=id_number]") !== null`, "the identity form")
}

// h5SignedIn opens a phone tab at path, which asks for a login first,
// signs subject in with the sandbox login (an account the test made and
// verified) and waits for the screen titled title the page then goes on
// to.
func h5SignedIn(t *testing.T, s *site, path, subject, title string) *page {
	t.Helper()
	p := s.open(t, Phone)
	p.visit(path)
	h5Screen(p, "登录")
	h5Fill(p, "subject", subject)
	h5Submit(p)
	h5Screen(p, title)
	return p
}

func loginTitle(p *page) string {
	return eval[string](p, `LB.t("h5.login.title")`)
}

// h5Settle runs the background steps until every record on the records
// screen shows want (入库 then 记账 come a few seconds after payment on
// the sandbox's clock, which the test moves on).
func h5Settle(t *testing.T, s *site, p *page, want string) {
	t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	for {
		s.Env.Clock.Advance(3 * time.Second)
		s.work(t)
		h5Tap(p, "main button", "刷新")
		p.waitJS(`document.querySelector("#records") !== null || document.querySelector("main p") !== null`, "records")
		done := eval[bool](p, fmt.Sprintf(`(function(){
			const st = Array.from(document.querySelectorAll("#records .state"));
			return st.length > 0 && st.every(function (n) { return n.textContent === %q; });
		})()`, want))
		if done {
			return
		}
		if time.Now().After(deadline) {
			p.fail("records never all showed %q", want)
		}
		time.Sleep(700 * time.Millisecond)
	}
}

// TestH5CitizenJourney: one person's whole journey in the standard page,
// as README's walk-through does it with curl: sandbox login, real-name
// binding (a wrong name first: the API's words show), the guide,
// enrolment, a parent added and enrolled, payables, declaring and paying
// at the sandbox cashier, the records going paid → 入库 → 记账, a
// voucher issued, downloaded and verified, a refund applied for with its
// timeline and messages.
func TestH5CitizenJourney(t *testing.T) {
	s := newSite(t)
	p := s.open(t, Phone)
	p.visit("/h5/")
	h5Screen(p, "社保缴费")
	p.waitJS(`!document.getElementById("sandbox-banner").hidden`, "the sandbox banner")
	p.shot("start")
	p.axe("start")

	h5Tap(p, "nav.tiles a", "登录")
	h5Screen(p, "登录")
	p.shot("login")
	p.axe("login")
	h5Login(p, "h5-journey")
	h5Screen(p, "实名认证")
	p.axe("identity")

	// A demo person with a wrong name: the API refuses and its message
	// shows, in the page's language.
	h5Fill(p, "name", "张三")
	h5Fill(p, "id_number", "150102199003071237")
	h5Submit(p)
	p.waitJS(`(function(){const e=document.querySelector("main form [role=alert]");return !!e && !e.hidden && e.innerText.length > 0;})()`, "the API's error")
	shown := eval[string](p, `document.querySelector("main form [role=alert] .msg").textContent`)
	if !strings.Contains(shown, "不一致") && !strings.Contains(shown, "不符") && !strings.Contains(shown, "核验") {
		t.Errorf("identity mismatch shows %q", shown)
	}
	p.shot("identity-error")
	h5Fill(p, "name", "张三明")
	h5Fill(p, "phone", "13812345678")
	h5Submit(p)
	h5Screen(p, "社保缴费")
	p.waitText("main", "您好")
	p.shot("start-verified")
	p.axe("start-verified")
	h5Measure(p, "start-verified", false)

	// The guide: the list, one business and the region's fee standards.
	h5Tap(p, "nav.tiles a", "办事指南")
	h5Screen(p, "办事指南")
	p.shot("guide")
	p.axe("guide")
	h5Tap(p, "main ul.list a", "")
	h5Screen(p, "业务说明")
	p.waitText("main", "缴费标准")
	p.shot("guide-detail")
	p.axe("guide-detail")

	// Enrolment: flexible-worker pension for himself.
	h5Home(p)
	h5Tap(p, "nav.tiles a", "参保登记")
	h5Screen(p, "参保登记")
	h5Fill(p, "scheme", "flexible_pension")
	h5Submit(p)
	p.waitText("main .result", "登记成功")
	p.shot("enrolled")
	p.axe("enrol")

	// His mother: added from "pay for my parents", then enrolled in
	// resident medical insurance.
	h5Home(p)
	h5Tap(p, "nav.tiles a", "为父母缴费")
	h5Screen(p, "为父母缴费")
	p.waitText("main", "还没有添加父母")
	h5Tap(p, "main a", "添加父母")
	h5Screen(p, "添加家人")
	h5Fill(p, "relation", "parent")
	h5Fill(p, "name", "李秀英")
	h5Fill(p, "id_number", "15010219620512222X")
	p.shot("family-add")
	p.axe("family-add")
	h5Submit(p)
	h5Screen(p, "为父母缴费")
	h5Tap(p, "main a", "为TA参保")
	h5Screen(p, "参保登记")
	p.waitJS(`document.querySelector("[name=person]").value !== "self"`, "the mother chosen")
	h5Fill(p, "scheme", "resident_medical")
	h5Submit(p)
	p.waitText("main .result", "登记成功")
	h5Home(p)
	h5Tap(p, "nav.tiles a", "家人")
	h5Screen(p, "家人")
	p.waitText("main", "父母")
	p.shot("family")
	p.axe("family")

	// His daughter, a minor: the household registry names him her
	// guardian, so he may let another verified person be one too.
	h5Tap(p, "main a", "添加家人")
	h5Screen(p, "添加家人")
	h5Fill(p, "relation", "child")
	h5Fill(p, "name", "张小雨")
	h5Fill(p, "id_number", "150102201609010420")
	h5Submit(p)
	h5Screen(p, "家人")
	h5Tap(p, "main a", "共同监护人")
	h5Screen(p, "共同监护人")
	p.waitText("main ul.list", "户籍登记的监护人")
	p.shot("guardians")
	p.axe("guardians")
	h5Home(p)
	h5Tap(p, "nav.tiles a", "为父母缴费")
	h5Screen(p, "为父母缴费")
	p.waitText("main", "城乡居民医疗保险")
	p.shot("parents-payables")
	p.axe("parents-payables")

	// His own payables, declared for two months and paid.
	h5Home(p)
	h5Tap(p, "nav.tiles a", "我要缴费")
	h5Screen(p, "我要缴费")
	p.waitText("main", "灵活就业养老保险")
	p.shot("payables")
	p.axe("payables")
	h5Measure(p, "payables", false)
	h5Tap(p, "main a", "去缴费")
	h5Screen(p, "确认缴费金额")
	if eval[bool](p, `document.querySelector("[name=period_to]") !== null`) {
		h5Fill(p, "period_to", eval[string](p, `document.querySelector("[name=period_to]").options[Math.min(1, document.querySelector("[name=period_to]").options.length-1)].value`))
	}
	p.shot("declare")
	h5Submit(p)
	p.waitText("main .result", "合计")
	p.waitJS(`document.activeElement && document.activeElement.id === "decl-h"`, "focus on the amount")
	p.shot("declare-confirm")
	p.axe("declare-confirm")
	h5Measure(p, "declare-confirm", false)
	h5Tap(p, "main .result button", "去付款")
	h5Screen(p, "付款")
	p.waitJS(`document.querySelector("#cashier") !== null`, "the cashier link")
	p.shot("pay-waiting")
	p.axe("pay-waiting")
	h5Measure(p, "pay-waiting", false)
	cashier := eval[string](p, `document.querySelector("#cashier").href`)
	order := strings.TrimPrefix(eval[string](p, `location.hash`), "#/pay/")

	// The sandbox cashier, as the payer sees it; then back to the page.
	u, err := url.Parse(cashier)
	if err != nil || u.Path != "/sandbox/pay/"+order {
		t.Fatalf("cashier url %q for order %q", cashier, order)
	}
	p.visit(u.Path)
	p.waitText("h1", "沙箱收银台")
	h5Tap(p, "button", "确认支付")
	p.waitText("#r", "success")
	p.shot("sandbox-cashier")
	p.visit("/h5/#/pay/" + order)
	p.waitText("#pay-status", "缴费成功")
	p.shot("paid")

	// Records: paid, then 入库 and 记账 as the background steps run.
	h5Tap(p, "main a", "看缴费记录")
	h5Screen(p, "缴费记录")
	p.waitText("#records", "已缴费")
	p.shot("records-paid")
	p.axe("records")
	h5Measure(p, "records", false)
	h5Settle(t, s, p, "已记账")
	if n, m := eval[int](p, `document.querySelectorAll("#records .steps li.done").length`), eval[int](p, `document.querySelectorAll("#records .record").length`); m == 0 || n != 3*m {
		t.Errorf("records show %d done steps for %d months, want paid, 入库 and 记账 on each", n, m)
	}
	p.shot("records-booked")

	// A payment voucher: issued, downloaded with the token, verified.
	h5Tap(p, "main a", "缴费证明")
	h5Screen(p, "缴费证明")
	h5Submit(p)
	p.waitJS(`document.querySelector("#certs .cert") !== null`, "the issued certificate")
	h5Tap(p, "#certs button.download", "")
	p.waitJS(`Number((document.getElementById("cert-status").dataset || {}).bytes || 0) > 1000`, "the PDF downloaded")
	// And a 社保缴费证明 over this year's months of his pension.
	h5Fill(p, "kind", "contribution_proof")
	h5Fill(p, "scheme", "flexible_pension")
	h5Submit(p)
	p.waitJS(`document.querySelectorAll("#certs .cert").length === 2`, "the contribution proof")
	p.shot("certificate")
	p.axe("certificates")
	h5Measure(p, "certificates", false)
	verify := eval[string](p, `document.querySelector("#certs a.verify").href`)
	p.visit(strings.TrimPrefix(verify, s.URL))
	p.waitJS(`document.body.innerText.indexOf("有效") >= 0 || document.body.innerText.indexOf("valid") >= 0`, "the verification page says valid")
	p.shot("certificate-verified")

	// A refund of that order, its timeline and the message about it.
	p.visit("/h5/#/refunds")
	h5Screen(p, "退费")
	h5Tap(p, "main a", "申请退费")
	h5Screen(p, "申请退费")
	h5Fill(p, "reason", "overpaid")
	h5Fill(p, "reason_detail", "同一个月在单位也缴了，申请退回多缴的部分")
	p.shot("refund-form")
	p.axe("refund-form")
	h5Measure(p, "refund-form", false)
	h5Submit(p)
	h5Screen(p, "退费进度")
	p.waitText("#timeline", "已提交")
	p.waitText("#refund-status", "已提交")
	p.shot("refund-timeline")
	p.axe("refund-timeline")
	h5Measure(p, "refund-timeline", false)
	h5Tap(p, "main a", "消息")
	h5Screen(p, "消息")
	p.waitJS(`document.querySelectorAll("#messages li").length > 0`, "a message about the refund")
	p.shot("messages")
	p.axe("messages")
	p.checkPage()
	if eval[bool](p, `location.href.indexOf(sessionStorage.getItem("lb.h5.token")) >= 0 || JSON.stringify(localStorage).indexOf(sessionStorage.getItem("lb.h5.token")) >= 0`) {
		t.Error("the bearer token is in the address or in localStorage")
	}
}

// elderCheck measures the screen in the page: every visible text at least
// 18 px, every visible control at least 44 × 44 px, amounts larger than
// the body text.
func elderCheck(p *page, screen string) {
	p.t.Helper()
	h5Measure(p, "长辈版 "+screen, true)
	p.axe("elder " + screen)
	p.shot("elder-" + screen)
}

// h5Measure fails when a visible control is under 44 × 44 px or headings
// skip a level (both modes) or, in 长辈版, a visible text is under 18 px or
// an amount is not larger than the body text.
func h5Measure(p *page, screen string, elder bool) {
	p.t.Helper()
	bad := eval[[]string](p, `(function(elder){
		const bad = [];
		const shown = function (n) {
			const r = n.getBoundingClientRect(), s = getComputedStyle(n);
			return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && s.visibility !== "hidden" && s.display !== "none";
		};
		document.querySelectorAll("body *").forEach(function (n) {
			if (!shown(n)) return;
			const text = Array.from(n.childNodes).some(function (c) { return c.nodeType === 3 && c.textContent.trim() !== ""; });
			const fs = parseFloat(getComputedStyle(n).fontSize);
			if (elder && text && fs < 18) bad.push("text " + fs + "px: " + n.tagName + " " + n.textContent.trim().slice(0, 30));
		});
		document.querySelectorAll("a, button, input, select, textarea").forEach(function (n) {
			if (!shown(n)) return;
			const r = n.getBoundingClientRect();
			if (r.width < 44 || r.height < 44) bad.push("target " + Math.round(r.width) + "x" + Math.round(r.height) + ": " + n.tagName + " " + (n.innerText || n.name || "").slice(0, 30));
		});
		const body = parseFloat(getComputedStyle(document.body).fontSize);
		document.querySelectorAll(".amount.big").forEach(function (n) {
			if (elder && shown(n) && parseFloat(getComputedStyle(n).fontSize) < body * 1.25) bad.push("amount not larger: " + n.textContent);
		});
		if (elder && body < 18) bad.push("body text " + body + "px");
		// Headings in order: one h1, no level skipped on the way down.
		let last = 0;
		document.querySelectorAll("h1, h2, h3, h4").forEach(function (h) {
			if (!shown(h)) return;
			const level = Number(h.tagName[1]);
			if (level > last + 1) bad.push("heading " + h.tagName + " after h" + last + ": " + h.textContent.slice(0, 20));
			last = level;
		});
		if (document.querySelectorAll("h1").length !== 1) bad.push(document.querySelectorAll("h1").length + " h1 headings");
		return bad;
	})(`+fmt.Sprint(elder)+`)`)
	if len(bad) > 0 {
		p.fail("%s:\n%s", screen, strings.Join(bad, "\n"))
	}
}

// TestH5ElderMode: 长辈版 opened with ?mode=elder and remembered; the
// key screens measured; "pay for my parents" two taps from the start
// page.
func TestH5ElderMode(t *testing.T) {
	s := newSite(t)
	p := s.open(t, Phone)
	p.visit("/h5/?mode=elder")
	h5Screen(p, "社保缴费")
	p.waitJS(`document.documentElement.classList.contains("elder") && document.getElementById("sw-elder").getAttribute("aria-pressed") === "true"`, "长辈版 on")
	elderCheck(p, "start")
	h5Tap(p, "nav.tiles a", "登录")
	h5Screen(p, "登录")
	elderCheck(p, "login")
	h5Login(p, "h5-elder")
	elderCheck(p, "identity")
	h5Fill(p, "name", "张三明")
	h5Fill(p, "id_number", "150102199003071237")
	h5Submit(p)
	h5Screen(p, "社保缴费")
	// Remembered: the address no longer says so.
	p.visit("/h5/")
	h5Screen(p, "社保缴费")
	p.waitJS(`document.documentElement.classList.contains("elder")`, "长辈版 remembered")
	elderCheck(p, "start-verified")

	h5Tap(p, "nav.tiles a", "为父母缴费")
	h5Screen(p, "为父母缴费")
	h5Tap(p, "main a", "添加父母")
	h5Screen(p, "添加家人")
	h5Fill(p, "name", "李秀英")
	h5Fill(p, "id_number", "15010219620512222X")
	elderCheck(p, "family-add")
	h5Submit(p)
	h5Screen(p, "为父母缴费")
	h5Tap(p, "main a", "为TA参保")
	h5Screen(p, "参保登记")
	h5Fill(p, "scheme", "resident_medical")
	elderCheck(p, "enrol")
	h5Submit(p)
	p.waitText("main .result", "登记成功")

	// Two taps from the start page to paying for a parent.
	h5Home(p)
	h5Screen(p, "社保缴费")
	h5Tap(p, "nav.tiles a", "为父母缴费") // 1
	h5Screen(p, "为父母缴费")
	elderCheck(p, "parents")
	h5Tap(p, "main a", "去缴费") // 2
	h5Screen(p, "确认缴费金额")
	p.waitText("main .who", "李")
	elderCheck(p, "declare")
	h5Submit(p)
	p.waitText("main .result", "合计")
	elderCheck(p, "declare-confirm")
	// The waiting screen stops asking after its limit (a minute; one ask
	// here) and offers to keep waiting rather than timing the person out.
	eval[bool](p, `H5.pollLimit = 1, true`)
	h5Tap(p, "main .result button", "去付款")
	h5Screen(p, "付款")
	p.waitJS(`document.querySelector("#cashier") !== null`, "the cashier link")
	h5Tap(p, "main button", "继续等待")
	p.waitJS(`Array.from(document.querySelectorAll("main button")).every(function (b) { return b.innerText.indexOf("继续等待") < 0; })`, "waiting again")
	p.waitJS(`Array.from(document.querySelectorAll("main button")).some(function (b) { return b.innerText.indexOf("继续等待") >= 0; })`, "the offer to keep waiting again")
	elderCheck(p, "pay-waiting")
	p.checkPage()
}

// TestH5Mongolian: the switch turns the page to traditional Mongolian
// script, remembered; text blocks run vertically in the embedded font;
// no string falls back to a raw key; an API error shows the API's words
// for mn-Mong.
func TestH5Mongolian(t *testing.T) {
	s := newSite(t)
	p := s.open(t, Phone)
	p.visit("/h5/")
	p.waitJS(`document.documentElement.lang === "zh-CN" && document.querySelector("main h1.mn-text") !== null`, "the Chinese start page")
	h5Tap(p, "#sw-lang", "")
	p.waitJS(`document.documentElement.lang === "mn-Mong" && document.querySelector("main h1").textContent.indexOf("社保") < 0`, "the Mongolian page")
	p.visit("/h5/")
	p.waitJS(`document.documentElement.lang === "mn-Mong" && document.querySelector("main h1.mn-text") !== null`, "Mongolian remembered")
	mnCheck(p, "start")

	h5Tap(p, "nav.tiles a.primary", "")
	p.waitJS(`document.querySelector("[name=subject]") !== null`, "the login form")
	mnCheck(p, "login")
	h5Fill(p, "subject", "h5-mongol")
	h5Submit(p)
	p.waitJS(`document.querySelector("[name=id_number]") !== null`, "the identity form")
	mnCheck(p, "identity")

	// An ID number with a wrong check digit: the API refuses it, and the
	// page shows the API's message for Accept-Language: mn-Mong.
	h5Fill(p, "name", "ᠪᠠᠲᠤ")
	h5Fill(p, "id_number", "150102199003071238")
	h5Submit(p)
	p.waitJS(`(function(){const e=document.querySelector("main form [role=alert]");return !!e && !e.hidden && e.innerText.length > 0;})()`, "the API's error")
	shown := eval[string](p, `document.querySelector("main form [role=alert] .msg").textContent`)
	mn, zh := h5APIError(t, s, "mn-Mong"), h5APIError(t, s, "zh-CN")
	if shown != mn {
		t.Errorf("the page shows %q, the API says %q for mn-Mong", shown, mn)
	}
	if mn != zh && !strings.ContainsFunc(mn, func(r rune) bool { return r >= 0x1800 && r <= 0x18AF }) {
		t.Errorf("the API's mn-Mong message %q is not in Mongolian script", mn)
	}
	if mn == zh {
		t.Logf("the API answers %q in both languages: its messages are not localized on this branch; the page passed Accept-Language: mn-Mong", mn)
	}
	mnCheck(p, "identity-error")

	// The bound person's start page, the guide and a business in it.
	h5Fill(p, "name", "张三明")
	h5Fill(p, "id_number", "150102199003071237")
	h5Submit(p)
	p.waitJS(`document.querySelector("nav.tiles a[href='#/parents']") !== null`, "the start page of a bound person")
	mnCheck(p, "start-verified")
	h5Tap(p, "nav.tiles a[href='#/guide']", "")
	p.waitJS(`document.querySelector("main ul.list a") !== null`, "the guide")
	mnCheck(p, "guide")
	h5Tap(p, "main ul.list a", "")
	p.waitJS(`document.querySelector("[name=region]") !== null`, "a business of the guide")
	mnCheck(p, "guide-detail")

	// Paying for his mother, every screen of it in Mongolian.
	h5Home(p)
	h5Tap(p, "nav.tiles a[href='#/parents']", "")
	p.waitJS(`document.querySelector("main a[href='#/family/add']") !== null`, "pay for my parents")
	h5Tap(p, "main a[href='#/family/add']", "")
	p.waitJS(`document.querySelector("[name=relation]") !== null`, "the family form")
	mnCheck(p, "family-add")
	h5Fill(p, "name", "李秀英")
	h5Fill(p, "id_number", "15010219620512222X")
	h5Submit(p)
	p.waitJS(`location.hash === "#/parents" && document.querySelector("main a[href^='#/enrol']") !== null`, "the parent added")
	h5Tap(p, "main a[href^='#/enrol']", "")
	p.waitJS(`document.querySelector("[name=scheme]") !== null && document.querySelector("[name=person]").value !== "self"`, "the enrolment form")
	h5Fill(p, "scheme", "resident_medical")
	h5Submit(p)
	p.waitJS(`document.querySelector("main .result") !== null && !document.querySelector("main .result").hidden`, "enrolled")
	mnCheck(p, "enrolled")
	h5Home(p)
	h5Tap(p, "nav.tiles a[href='#/parents']", "")
	p.waitJS(`document.querySelector("main a[href^='#/declare/']") !== null`, "the parent's payable")
	mnCheck(p, "parents")
	h5Tap(p, "main a[href^='#/declare/']", "")
	p.waitJS(`document.querySelector("[name=option]") !== null`, "the declaration form")
	h5Submit(p)
	p.waitJS(`document.querySelector("main .result") !== null && !document.querySelector("main .result").hidden`, "the amount")
	mnCheck(p, "declare-confirm")
	h5Tap(p, "main .result button", "")
	p.waitJS(`document.querySelector("#cashier") !== null`, "the cashier link")
	mnCheck(p, "pay-waiting")
	p.checkPage()
}

// mnCheck: html lang, vertical text blocks, the embedded font, no raw key.
func mnCheck(p *page, screen string) {
	p.t.Helper()
	bad := eval[[]string](p, `(async function(){
		await document.fonts.ready;
		const bad = [];
		if (document.documentElement.lang !== "mn-Mong") bad.push("html lang " + document.documentElement.lang);
		const blocks = Array.from(document.querySelectorAll(".mn-text")).filter(function (n) { return n.getBoundingClientRect().width > 0; });
		if (blocks.length === 0) bad.push("no Mongolian text blocks");
		blocks.forEach(function (n) {
			const wm = getComputedStyle(n).writingMode;
			if (wm !== "vertical-lr") bad.push("writing-mode " + wm + ": " + n.textContent.slice(0, 20));
			// Nothing cut off: a block's columns fit in it.
			if (n.scrollWidth > n.clientWidth + 1 || n.scrollHeight > n.clientHeight + 1) bad.push("cut off (" + n.scrollWidth + "x" + n.scrollHeight + " in " + n.clientWidth + "x" + n.clientHeight + "): " + n.textContent.slice(0, 20));
		});
		document.querySelectorAll(".num").forEach(function (n) {
			if (n.getBoundingClientRect().width > 0 && getComputedStyle(n).writingMode !== "horizontal-tb") bad.push("number turned: " + n.textContent);
		});
		const ff = getComputedStyle(document.querySelector("main h1")).fontFamily;
		if (ff.replace(/"/g, "").indexOf("Noto Sans Mongolian") !== 0) bad.push("font-family " + ff);
		const loaded = Array.from(document.fonts).some(function (f) { return f.family.replace(/"/g, "") === "Noto Sans Mongolian" && f.status === "loaded"; });
		if (!loaded) bad.push("Noto Sans Mongolian not loaded");
		if (document.body.innerText.indexOf("⟦") >= 0) bad.push("raw key: " + document.body.innerText.match(/⟦[^⟧]*⟧/)[0]);
		return bad;
	})()`)
	if len(bad) > 0 {
		p.fail("Mongolian %s:\n%s", screen, strings.Join(bad, "\n"))
	}
	// The glyphs of the heading were drawn with the embedded font, as the
	// browser reports it (not only what the style asks for).
	if fonts := h5Fonts(p, "main h1"); !fonts["Noto Sans Mongolian"] {
		p.fail("Mongolian %s: the heading is drawn with %v, not Noto Sans Mongolian", screen, fonts)
	}
	p.axe("mn " + screen)
	p.shot("mn-" + screen)
}

// h5APIError asks the API what the page asked (binding an ID number with
// a wrong check digit) in lang, and returns its message.
func h5APIError(t *testing.T, s *site, lang string) string {
	t.Helper()
	do := func(method, path, token, body string) map[string]any {
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", lang)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return out
	}
	login := do("POST", "/api/v1/sessions/sandbox", "", `{"subject":"h5-mongol-api-`+lang+`"}`)
	tok, _ := login["token"].(string)
	res := do("POST", "/api/v1/me/identity", tok, `{"name":"ᠪᠠᠲᠤ","id_number":"150102199003071238"}`)
	e, _ := res["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if msg == "" {
		t.Fatalf("no API error for a wrong check digit: %v", res)
	}
	return msg
}

// h5Fonts is the set of fonts the browser drew the first element matching
// sel with (CSS.getPlatformFontsForNode).
func h5Fonts(p *page, sel string) map[string]bool {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(sel))
	if err != nil || len(nodes) == 0 {
		p.fail("no %s: %v", sel, err)
	}
	if _, err := chromedp.Call(ctx, css.Enable, cdp.Empty{}); err != nil {
		p.fail("CSS.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: nodes[0].NodeID})
	if err != nil {
		p.fail("fonts of %s: %v", sel, err)
	}
	out := map[string]bool{}
	for _, f := range res.Fonts {
		out[f.FamilyName] = true
	}
	return out
}

// TestH5WechatReturnNeedsItsOwnState: coming back from WeChat's authorize
// page, the H5 takes the code out of the address at once and posts it
// only with the state this tab was given (login CSRF: a code someone else
// got for their account must not log this browser in).
func TestH5WechatReturnNeedsItsOwnState(t *testing.T) {
	s := newSite(t)
	p := s.open(t, Phone)
	p.visit("/h5/?code=someone-elses-code&state=forged")
	p.waitJS(`document.querySelector("main [role=alert]") !== null`, "the refusal")
	if got := eval[string](p, `document.querySelector("main [role=alert]").innerText`); !strings.Contains(got, "登录来源无法确认") {
		t.Errorf("a foreign state shows %q", got)
	}
	if eval[string](p, `location.search`) != "" {
		t.Error("the code stayed in the address")
	}
	if eval[string](p, `sessionStorage.getItem("lb.h5.token") || ""`) != "" {
		t.Error("a foreign state logged the page in")
	}
	p.shot("wechat-foreign-state")
	p.axe("wechat-foreign-state")

	// With the state this tab kept, the code goes to the API (which has
	// no WeChat official account configured here, and says so in its words).
	eval[bool](p, `sessionStorage.setItem("lb.h5.wxstate", "mine"), true`)
	p.visit("/h5/?code=a-code&state=mine")
	p.waitJS(`document.querySelector("main [role=alert]") !== null`, "the API's answer")
	if got := eval[string](p, `document.querySelector("main [role=alert]").innerText`); strings.Contains(got, "登录来源无法确认") || got == "" {
		t.Errorf("the tab's own state was refused or nothing shown: %q", got)
	}
	if eval[string](p, `sessionStorage.getItem("lb.h5.wxstate") || ""`) != "" {
		t.Error("the state was not used up")
	}
	p.checkPage()
}

// TestH5OffersOnlyTheLoginsTheServerHas: a server without 蒙速办 shows no
// 蒙速办 button, which could only fail there; a server with it shows one.
func TestH5OffersOnlyTheLoginsTheServerHas(t *testing.T) {
	for _, logins := range []bool{false, true} {
		s := newSiteWith(t, logins)
		p := s.open(t, Phone)
		p.visit("/h5/#/login")
		h5Screen(p, "登录")
		p.waitJS(`document.querySelector("[name=subject]") !== null`, "the sandbox login")
		if got := eval[bool](p, `document.body.innerText.indexOf("蒙速办") >= 0`); got != logins {
			t.Errorf("a server with 蒙速办 %v shows its button: %v", logins, got)
		}
		p.checkPage()
	}
}

// TestH5MengsubanLogin: a person signs in with 蒙速办 from the H5. The
// page makes the PKCE verifier and the server the one-time state;
// 蒙速办's sign-in (the sandbox's lets one pick a demo person) sends the
// person back to /h5/mengsuban/callback, where the H5 posts the code with
// this tab's verifier and state. The person is in, real-name verified by
// the channel, and the code has left the address. A return this tab did
// not start (a link with someone's code and a state of their own) posts
// nothing.
func TestH5MengsubanLogin(t *testing.T) {
	s := newSite(t)
	p := s.open(t, Phone)
	p.visit("/h5/mengsuban/callback?code=someone-elses-code&state=forged")
	p.waitJS(`document.querySelector("main [role=alert]") !== null`, "the refusal")
	if got := eval[string](p, `document.querySelector("main [role=alert]").innerText`); !strings.Contains(got, "登录来源无法确认") {
		t.Errorf("a foreign return shows %q", got)
	}
	if got := eval[string](p, `location.pathname + location.search`); got != "/h5/" {
		t.Errorf("the address after a return is %q", got)
	}
	if eval[string](p, `sessionStorage.getItem("lb.h5.token") || ""`) != "" {
		t.Error("a foreign return logged the page in")
	}
	// The person turned the sign-in down at 蒙速办: said so, in our words.
	p.visit("/h5/mengsuban/callback?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=x")
	p.waitJS(`document.querySelector("main [role=alert]") !== null`, "the refusal")
	if got := eval[string](p, `document.querySelector("main [role=alert]").innerText`); !strings.Contains(got, "蒙速办未完成登录") {
		t.Errorf("a sign-in turned down shows %q", got)
	}

	p.visit("/h5/#/login")
	h5Screen(p, "登录")
	p.shot("mengsuban-login")
	p.axe("mengsuban-login")
	h5Tap(p, "button", "用蒙速办登录")
	p.waitJS(`location.pathname === "/sandbox/oidc/authorize"`, "蒙速办's sign-in page")
	if eval[string](p, `new URLSearchParams(location.search).get("code_challenge_method")`) != "S256" {
		t.Error("the sign-in was not started with a PKCE S256 challenge")
	}
	h5Tap(p, "a", "张三明")
	p.waitJS(`location.pathname === "/h5/" && !!sessionStorage.getItem("lb.h5.token")`, "the H5 signed in")
	p.waitText("main", "为父母缴费") // the start page of a real-name verified person
	if got := eval[string](p, `location.search`); got != "" {
		t.Errorf("the code stayed in the address: %q", got)
	}
	if eval[string](p, `sessionStorage.getItem("lb.h5.msb") || ""`) != "" {
		t.Error("the verifier outlived its return")
	}
	p.shot("mengsuban-signed-in")
	p.axe("mengsuban-signed-in")
	p.checkPage()
}

// paidForMother is 张三明, signed up as subject, who added his mother as
// family (a pay-only link) and paid her 城乡居民医保: settled, not yet
// credited to the treasury.
func paidForMother(t *testing.T, s *site, subject string) (people.FamilyMember, contrib.Payment) {
	t.Helper()
	zhang, mother := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	sess := s.Env.LoginVerified(t, subject, zhang.Name, zhang.IDNumber)
	m := servicetest.Family(t, s.Env, sess, mother.Name, mother.IDNumber, "parent")
	mom := people.PersonRef{MemberID: m.MemberID}
	servicetest.EnrolMedical(t, s.Env, sess, mom)
	return m, servicetest.PaidFor(t, s.Env, sess, mom, models.SchemeResidentMedical)
}

// creditOrder runs the background steps on the sandbox's clock until the
// treasury has credited the order's months.
func creditOrder(t *testing.T, s *site, orderNo string) {
	t.Helper()
	for i := 0; servicetest.Count(t, s.Env.DB, "records", "order_no = ? AND status IN ?", orderNo, []string{"credited", "booked"}) == 0; i++ {
		if i == 10 {
			t.Fatalf("order %s was never credited", orderNo)
		}
		s.Env.Clock.Advance(3 * time.Second)
		s.work(t)
	}
}

// TestH5ARefundForAParent: someone who paid their mother's 城乡居民医保
// asks it back from the H5. The refund form asks whose records the order
// is on (it offered only the payer's own, so money paid for a parent could
// be asked back only at the hall), lists the mother's order when she is
// chosen — marked as waiting while the treasury has not confirmed its
// credit, as the server lists it (listRefundable) — and files the refund
// for her.
func TestH5ARefundForAParent(t *testing.T) {
	s := newSite(t)
	const subject = "h5-family-refund"
	m, paid := paidForMother(t, s, subject)
	orderText := fmt.Sprintf(`(function(){ const o = document.querySelector("[name=order_no]"); return o && o.value === %q ? o.selectedOptions[0].textContent : ""; })()`, paid.OrderNo)

	p := h5SignedIn(t, s, "/h5/#/refund/new", subject, "申请退费")
	p.waitText("main", "没有") // nothing of his own to ask back
	h5Fill(p, "person", m.MemberID)
	p.waitJS(orderText+`.indexOf("待确认入库") >= 0`, "the mother's order, marked as waiting for its credit")
	// 城乡居民医保 is yearly: the order covers January to December.
	p.waitJS(fmt.Sprintf(`%s.indexOf(%q) >= 0`, orderText, paid.PeriodFrom[:4]+"-01–"+paid.PeriodFrom[:4]+"-12"), "the year the order covers")
	p.waitText("#refund-order-note", "还没有确认入库")
	p.shot("refund-awaiting-credit")
	p.axe("refund-awaiting-credit")

	creditOrder(t, s, paid.OrderNo)
	p.visit("/h5/#/refund/new")
	p.waitText("main", "没有")
	h5Fill(p, "person", m.MemberID)
	p.waitJS(orderText+` !== "" && `+orderText+`.indexOf("待确认入库") < 0 && document.querySelector("#refund-order-note").textContent === ""`,
		"the mother's order, credited")
	p.waitJS(fmt.Sprintf(`(function(){ const o = document.querySelector("[name=order_no]"); return !!o && o.value === %q; })()`, paid.OrderNo),
		"the mother's order in the form")
	// Choosing whose money redraws the form but leaves the focus on the
	// choice (WCAG 3.2.2): the person is still filling it in.
	p.waitJS(`document.activeElement === document.querySelector("[name=person]")`, "the focus kept on whose money")
	h5Fill(p, "reason", "overpaid")
	p.shot("refund-for-parent")
	p.axe("refund-for-parent")
	h5Submit(p)
	h5Screen(p, "退费进度")
	p.waitText("#refund-status", "已提交")
	if n := servicetest.Count(t, s.Env.DB, "refund_items", "order_no = ?", paid.OrderNo); n == 0 {
		t.Fatal("no refund of the mother's order was filed")
	}
	p.checkPage()
}

// TestH5AnOldPaymentGoesBackToABankAccount: money paid longer ago than
// its channel refunds can go back only by bank transfer, so the form asks
// for the account (marked required, and said next to the order) instead of
// offering it as optional, and the application is filed for the bank.
func TestH5AnOldPaymentGoesBackToABankAccount(t *testing.T) {
	s := newSite(t)
	const subject = "h5-old-refund"
	m, paid := paidForMother(t, s, subject)
	zhang := servicetest.Person(t, "张三明")
	creditOrder(t, s, paid.OrderNo)
	s.Env.Clock.Advance(331 * 24 * time.Hour) // past what WeChat and Alipay refund in time

	p := h5SignedIn(t, s, "/h5/#/refund/new?person="+url.QueryEscape(m.MemberID), subject, "申请退费")
	p.waitJS(fmt.Sprintf(`(function(){ const o = document.querySelector("[name=order_no]"); return !!o && o.value === %q; })()`, paid.OrderNo),
		"the mother's order in the form")
	p.waitText("#refund-order-note", "无法原路退回")
	p.waitJS(`document.querySelector("fieldset legend").textContent === "退到银行卡" && document.querySelector("[name=account_no]").required`,
		"the bank account asked for")
	h5Submit(p) // without it the server refuses, saying why, and nothing is filed
	p.waitText("form .error", "银行账户")
	if n := servicetest.Count(t, s.Env.DB, "refunds", "1 = 1"); n != 0 {
		t.Fatal("an application was filed without the bank account it needs")
	}
	h5Fill(p, "bank_name", "中国银行")
	h5Fill(p, "account_name", zhang.Name)
	h5Fill(p, "account_no", "6216610200001234567")
	p.shot("refund-to-bank")
	p.axe("refund-to-bank")
	h5Submit(p)
	h5Screen(p, "退费进度")
	if n := servicetest.Count(t, s.Env.DB, "refunds", "route = ?", "bank"); n != 1 {
		t.Fatal("the application was not filed for a bank transfer")
	}
	p.checkPage()
}

// TestH5GrantsAndRemovingAFamilyMember: an elderly mother lets her son see
// her records from the H5, and ends it again: his request for her records
// is served while the grant lasts and refused (403) at once after. Ending
// it asks first, and "keep" keeps it. Then the son removes her from his
// family, again only after saying yes.
func TestH5GrantsAndRemovingAFamilyMember(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	zhang, mother := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	const sonSubject, motherSubject = "h5-grant-son", "h5-grant-mother"
	son := s.Env.LoginVerified(t, sonSubject, zhang.Name, zhang.IDNumber)
	m := servicetest.Family(t, s.Env, son, mother.Name, mother.IDNumber, "parent")
	s.Env.LoginVerified(t, motherSubject, mother.Name, mother.IDNumber)
	login, err := s.Env.Svc.LoginSandbox(ctx, sonSubject)
	if err != nil {
		t.Fatal(err)
	}
	// herRecords is the status of the son's request for his mother's
	// records, over HTTP as his phone would send it.
	herRecords := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/records?person="+url.QueryEscape(m.MemberID), nil)
		req.Header.Set("Authorization", "Bearer "+login.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := herRecords(); st != http.StatusForbidden {
		t.Fatalf("before any grant the son's request for her records is %d, want 403", st)
	}

	p := h5SignedIn(t, s, "/h5/#/grants", motherSubject, "授权家人查看我的记录")
	p.waitText("main", "还没有授权")
	h5Fill(p, "grantee_id_number", zhang.IDNumber)
	h5Submit(p)
	p.waitJS(`document.querySelectorAll("#grants li").length === 1`, "the grant listed")
	p.waitText("#grants", zhang.IDNumber[:3])
	if eval[bool](p, fmt.Sprintf(`document.body.innerText.indexOf(%q) >= 0 || document.querySelector("[name=grantee_id_number]").value !== ""`, zhang.IDNumber)) {
		t.Error("the grantee's whole ID number is on the page")
	}
	p.shot("grants")
	p.axe("grants")
	if st := herRecords(); st != http.StatusOK {
		t.Fatalf("with her grant the son's request for her records is %d, want 200", st)
	}

	h5Tap(p, "#grants button", "取消授权")
	p.waitJS(`document.activeElement !== null && document.activeElement.classList.contains("ask")`, "focus on the question")
	p.shot("grant-revoke-ask")
	p.axe("grant-revoke-ask")
	h5Tap(p, "#grants button", "保留授权")
	p.waitJS(`document.activeElement !== null && document.activeElement.innerText === "取消授权"`, "focus back on the button")
	if st := herRecords(); st != http.StatusOK {
		t.Fatalf("keeping the grant ended it: %d", st)
	}
	h5Tap(p, "#grants button", "取消授权")
	h5Tap(p, "#grants button", "确定取消授权")
	p.waitJS(`document.querySelector("#grants") === null && document.querySelectorAll("#grants-ended li").length === 1`, "the grant ended")
	if st := herRecords(); st != http.StatusForbidden {
		t.Fatalf("after she ended the grant the son's request for her records is %d, want 403", st)
	}
	p.checkPage()

	// The son, on his own phone, removes her from his family.
	q := h5SignedIn(t, s, "/h5/#/family", sonSubject, "家人")
	h5Tap(q, "main .card button", "移除")
	q.waitText("main .card .ask", "确定移除吗")
	q.shot("family-remove-ask")
	q.axe("family-remove-ask")
	h5Tap(q, "main .card button", "确定移除")
	q.waitText("main", "还没有添加家人")
	fam, err := s.Env.Svc.ListFamily(ctx, son.UserID)
	if err != nil || len(fam) != 0 {
		t.Fatalf("his family after removing her: %+v %v", fam, err)
	}
	q.checkPage()
}
