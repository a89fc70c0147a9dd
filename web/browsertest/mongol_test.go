package browsertest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lianban/lianban/locale"
)

// mongolianRE matches traditional Mongolian script (U+1800–U+18AF) in
// page JavaScript.
const mongolianRE = `/[\u1820-\u18AA]/`

// TestMongolian: the H5 in Mongolian (?lang=mn) loads every string of the
// language, shows its Mongolian text in the embedded Noto Sans Mongolian
// (loaded from this server, shaping the script's joined forms) laid out
// top to bottom (writing-mode: vertical-lr), and the API answers the page
// in Mongolian too.
func TestMongolian(t *testing.T) {
	s := newSite(t)
	cat, err := locale.Load()
	if err != nil {
		t.Fatal(err)
	}

	// The page strings of the language: every id has a Mongolian value,
	// and none is a copy of the Chinese (a fallback by another name).
	res, err := http.Get(s.URL + "/assets/i18n/mn-Mong.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var strs map[string]string
	if res.StatusCode != 200 || json.Unmarshal(raw, &strs) != nil {
		t.Fatalf("/assets/i18n/mn-Mong.json: %d %.200s", res.StatusCode, raw)
	}
	zh := cat.Strings(locale.Chinese, "common.", "h5.", "console.", "error.")
	if len(strs) != len(zh) || len(strs) == 0 {
		t.Errorf("mn-Mong has %d strings, zh-CN %d", len(strs), len(zh))
	}
	for id, zhText := range zh {
		mn, ok := strs[id]
		switch {
		case !ok || strings.TrimSpace(mn) == "":
			t.Errorf("%s has no Mongolian value", id)
		case mn == zhText && !strings.HasPrefix(id, "common.lang.") && strings.ContainsFunc(zhText, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }):
			// A language's own name (the switch's 中文) is the one string
			// written the same in both.
			t.Errorf("%s in Mongolian is the Chinese %q", id, mn)
		}
	}

	p := s.open(t, Phone)
	p.visit("/h5/?lang=mn")
	p.waitJS(`document.documentElement.lang === "mn-Mong" && document.fonts.status === "loaded" && !!document.querySelector("[data-i18n]")`, "the page in Mongolian")
	p.waitJS(`[...document.querySelectorAll("body *")].some(e => `+mongolianRE+`.test(e.textContent))`, "Mongolian text on the page")
	if k := eval[string](p, `(document.body.innerText.match(/⟦[^⟧]*⟧/) || [""])[0]`); k != "" {
		p.fail("a string falls back to its key: %s", k)
	}

	// The embedded font: loaded from /assets/fonts (not a system font of
	// the same name), and it shapes: a word is narrower than its letters
	// set apart, because joined medial forms are, while a font without
	// the script would draw every letter as the same box.
	font := eval[struct {
		Loaded  bool    `json:"loaded"`
		Check   bool    `json:"check"`
		Word    float64 `json:"word"`
		Letters float64 `json:"letters"`
		Box     float64 `json:"box"`
	}](p, `(async () => {
		await document.fonts.load('32px "Noto Sans Mongolian"', 'ᠮᠣᠩᠭᠣᠯ');
		const faces = [...document.fonts].filter(f => f.family.replace(/"/g, "") === "Noto Sans Mongolian");
		const width = (text, family) => {
			const s = document.createElement("span");
			s.textContent = text;
			s.lang = "mn-Mong";
			document.body.appendChild(s);
			s.setAttribute("data-probe", family);
			const c = document.createElement("canvas").getContext("2d");
			c.font = '32px ' + family;
			const w = c.measureText(text).width;
			s.remove();
			return w;
		};
		const word = "ᠮᠣᠩᠭᠣᠯ";
		return {
			loaded: faces.length > 0 && faces.every(f => f.status === "loaded"),
			check: document.fonts.check('32px "Noto Sans Mongolian"', word),
			word: width(word, '"Noto Sans Mongolian"'),
			letters: [...word].map(ch => width(ch, '"Noto Sans Mongolian"')).reduce((a, b) => a + b, 0),
			box: width(word, 'monospace'),
		};
	})()`)
	if !font.Loaded || !font.Check {
		p.fail("Noto Sans Mongolian is not loaded: %+v", font)
	}
	if font.Word <= 0 || font.Word >= 0.9*font.Letters {
		p.fail("Noto Sans Mongolian does not join the script: the word is %.1f px, its letters apart %.1f px", font.Word, font.Letters)
	}
	t.Logf("font: %+v", font)

	// Every block of Mongolian text on the page is vertical and set in
	// the Mongolian font. Controls (buttons, links, form fields) may keep
	// their text horizontal: a page lays those out itself.
	type block struct {
		Tag, Text, WritingMode, Font string
		W, H                         float64
	}
	blocks := eval[[]block](p, `[...document.querySelectorAll("body *")].filter(e =>
			[...e.childNodes].some(n => n.nodeType === 3 && `+mongolianRE+`.test(n.textContent)) &&
			!e.closest("button, a, label, select, option, input, textarea, [role=button], .mn-horizontal"))
		.map(e => { const cs = getComputedStyle(e), r = e.getBoundingClientRect();
			return {Tag: e.tagName, Text: e.textContent.slice(0, 40), WritingMode: cs.writingMode, Font: cs.fontFamily, W: r.width, H: r.height}; })`)
	if len(blocks) == 0 {
		p.fail("no block of Mongolian text on /h5/?lang=mn")
	}
	for _, b := range blocks {
		if b.WritingMode != "vertical-lr" || !strings.HasPrefix(strings.Trim(b.Font, `"' `), "Noto Sans Mongolian") {
			p.fail("%s %q: writing-mode %s, font %s", b.Tag, b.Text, b.WritingMode, b.Font)
		}
		if b.H <= b.W && len([]rune(b.Text)) > 3 {
			p.fail("%s %q is %.0f×%.0f px: vertical text should be taller than wide", b.Tag, b.Text, b.W, b.H)
		}
	}
	p.checkPage()
	p.shot("h5-mongolian")

	// The API speaks to the page in its language: LB.api sends the page's
	// Accept-Language, and a call without a session gets UNAUTHENTICATED
	// in Mongolian.
	apiErr := eval[struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Lang    string `json:"lang"`
	}](p, `fetch("/api/v1/me", {headers: {"Accept": "application/json", "Accept-Language": "mn-Mong"}})
		.then(async r => { const b = await r.json(); return {status: r.status, code: b.error.code, message: b.error.message, lang: r.headers.get("Content-Language")}; })`)
	want := cat.Message(locale.Mongolian, "error.UNAUTHENTICATED", "")
	if apiErr.Status != 401 || apiErr.Code != "UNAUTHENTICATED" || apiErr.Message != want || apiErr.Lang != "mn-Mong" {
		p.fail("GET /api/v1/me without a session, in Mongolian: %+v, want message %q", apiErr, want)
	}
	viaLB := eval[string](p, `LB.api("GET", "/api/v1/me").then(() => "no error", e => e.code + " " + e.message)`)
	if viaLB != "UNAUTHENTICATED "+want {
		p.fail("LB.api in Mongolian: %q", viaLB)
	}
	p.checkPage()
}
