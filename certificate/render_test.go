package certificate

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/signintech/gopdf"

	"github.com/lianban/lianban/models"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the rendered PDFs")

// needTool finds a poppler tool, or zbarimg (zbar-tools). CI installs
// both (make deps) and must fail without them; elsewhere the PDF-reading
// tests skip and say why.
func needTool(t *testing.T, name string) string {
	t.Helper()
	pkg := "poppler-utils"
	if name == "zbarimg" {
		pkg = "zbar-tools"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: install %s", name, pkg)
		}
		t.Skipf("%s not found: install %s (apt-get install -y %s) to run this test", name, pkg, pkg)
	}
	return path
}

// poppler runs a poppler tool on pdf and returns its output.
func poppler(t *testing.T, pdf []byte, tool string, args ...string) string {
	t.Helper()
	bin := needTool(t, tool)
	file := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, file)
	if tool == "pdftotext" {
		args = append(args, "-")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	return string(out)
}

// normalize drops what -layout spacing may vary between poppler versions
// (runs of spaces, blank lines) and keeps the words and their order.
func normalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

var goldenCases = []struct {
	name  string
	cert  func() models.Certificate
	pages string
}{
	{"payment_voucher", voucherFixture, "1"},
	{"payment_voucher_revoked", revokedVoucherFixture, "1"},
	{"contribution_proof", proofFixture, "1"},
	{"contribution_proof_multipage", longProofFixture, "2"},
	{"contribution_proof_resident_reissue", residentReissueFixture, "1"},
	{"tax_payment_certificate", taxFixture, "1"},
	{"unit_tax_payment_certificate", unitTaxFixture, "1"},
	{"unit_tax_payment_certificate_reissue", unitTaxReissueFixture, "1"},
}

func TestRenderMatchesGoldenText(t *testing.T) {
	r := newTestRenderer(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			pdf, err := r.Render(tc.cert())
			if err != nil {
				t.Fatal(err)
			}
			text := poppler(t, pdf, "pdftotext", "-layout", "-enc", "UTF-8")
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRenderMatchesGoldenText -update)", err)
			}
			if got := normalize(text); got != normalize(string(want)) {
				t.Errorf("text differs from %s (-update rewrites it); got:\n%s", golden, text)
			}

			info := poppler(t, pdf, "pdfinfo")
			if !regexp.MustCompile(`Page size:\s+595(\.\d+)? x 84[12](\.\d+)? pts \(A4\)`).MatchString(info) {
				t.Errorf("not A4:\n%s", info)
			}
			if !regexp.MustCompile(`Pages:\s+` + tc.pages + `\n`).MatchString(info) {
				t.Errorf("want %s pages:\n%s", tc.pages, info)
			}
		})
	}
}

func TestRenderEmbedsTheFontAsASubset(t *testing.T) {
	pdf, err := newTestRenderer(t).Render(proofFixture())
	if err != nil {
		t.Fatal(err)
	}
	fonts := poppler(t, pdf, "pdffonts")
	// name, type, encoding, emb, sub, uni
	if !regexp.MustCompile(`(?m)^LBCERT\+LXGWWenKai-Regular\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes\s`).MatchString(fonts) {
		t.Errorf("font not embedded as a subset with a ToUnicode map:\n%s", fonts)
	}
	if n := strings.Count(fonts, "\n"); n != 3 {
		t.Errorf("want exactly one font:\n%s", fonts)
	}
	// The whole font is 15.7 MB; a subset of a few hundred glyphs is small.
	if len(pdf) > 200_000 {
		t.Errorf("PDF is %d bytes; the font does not look subset", len(pdf))
	}
}

func TestRenderPrintsRareNameCharacterAndAmounts(t *testing.T) {
	pdf, err := newTestRenderer(t).Render(voucherFixture())
	if err != nil {
		t.Fatal(err)
	}
	text := poppler(t, pdf, "pdftotext", "-layout", "-enc", "UTF-8")
	for _, want := range []string{
		"姓名：李*𬌗",             // U+2C317, beyond the BMP
		"981.40",             // 98140 fen
		"2944.20",            // the total
		"150102********123X", // masked ID
		"缴费人：王*",             // masked payer
		"内蒙古自治区社会保险事业服务中心",                // pension: the social insurance agency
		"已缴费：已缴费，尚未入库",                    // the stage the money is in
		"验证码：H4TQ8N2W",                    // the verification code
		"开具时间：2026年01月15日 10:30:00（北京时间）", // Beijing time
	} {
		if !strings.Contains(text, want) {
			t.Errorf("extracted text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "李明") {
		t.Error("the full name is printed")
	}
}

func TestRenderRefusesNamesWithCharactersTheFontLacks(t *testing.T) {
	r := newTestRenderer(t)
	lacking := map[string]rune{
		"CJK Extension H": 0x31350, // 𱍐
		"CJK Extension B": 0x20000, // 𠀀
		"private use":     0xE000,
		"Mongolian":       0x1820, // ᠠ
	}
	for name, ch := range lacking {
		t.Run(name, func(t *testing.T) {
			if r.font.coverage.has(ch) {
				t.Fatalf("the font has %U; pick a character it lacks", ch)
			}
			masked := "王*" + string(ch)
			for field, set := range map[string]func(c *models.Certificate){
				"person": func(c *models.Certificate) { c.PersonNameMasked = masked },
				"payer":  func(c *models.Certificate) { c.PayerMasked = masked },
			} {
				c := voucherFixture()
				set(&c)
				pdf, err := r.Render(c)
				if !errors.Is(err, models.ErrCertificateGlyphMissing) || pdf != nil {
					t.Fatalf("%s: Render() = %d bytes, %v; want ErrCertificateGlyphMissing", field, len(pdf), err)
				}
				e, _ := models.AsError(err)
				if e.Kind != models.KindUnprocessable || e.Code != "CERTIFICATE_GLYPH_MISSING" ||
					e.Message != "姓名中含有无法打印的生僻字，请到办税服务厅开具" {
					t.Errorf("%s: error %+v", field, e)
				}
			}
			if err := r.CheckPrintable(masked); !errors.Is(err, models.ErrCertificateGlyphMissing) {
				t.Errorf("CheckPrintable(%q) = %v", masked, err)
			}
		})
	}
	for _, ok := range []string{"李*𬌗", "王*", "阿*·买买提", "䶮*喆", "张*堃"} {
		if err := r.CheckPrintable(ok); err != nil {
			t.Errorf("CheckPrintable(%q) = %v", ok, err)
		}
	}
}

func TestRenderRefusesInvalidCertificates(t *testing.T) {
	r := newTestRenderer(t)
	c := taxFixture()
	c.Lines[2].Status, c.Lines[2].CreditedAt = models.CertLinePaid, c.Lines[2].PaidAt.AddDate(-1, 0, 0)
	if _, err := r.Render(c); !errors.Is(err, models.ErrCertificateNotCredited) {
		t.Errorf("tax certificate over paid money: %v, want ErrCertificateNotCredited", err)
	}
	c = proofFixture()
	c.TotalFen++
	if _, err := r.Render(c); !errors.Is(err, models.ErrInternal) {
		t.Errorf("wrong total: %v, want ErrInternal", err)
	}
}

// TestRenderIsDeterministic: a stored certificate re-renders to the same
// bytes, so a PDF's hash identifies the document.
func TestRenderIsDeterministic(t *testing.T) {
	r := newTestRenderer(t)
	a, err := r.Render(taxFixture())
	if err != nil {
		t.Fatal(err)
	}
	b, err := newTestRenderer(t).Render(taxFixture())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two renders of one certificate differ")
	}
}

// TestRenderConcurrently shares one renderer (and its parsed font) between
// goroutines; run with -race.
func TestRenderConcurrently(t *testing.T) {
	r := newTestRenderer(t)
	fixtures := []func() models.Certificate{voucherFixture, proofFixture, taxFixture, residentReissueFixture}
	want := make([][]byte, len(fixtures))
	for i, f := range fixtures {
		var err error
		if want[i], err = r.Render(f()); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			k := g % len(fixtures)
			got, err := r.Render(fixtures[k]())
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(got, want[k]) {
				t.Errorf("goroutine %d: render of fixture %d differs", g, k)
			}
		})
	}
	wg.Wait()
}

func TestVerifyURLCarriesNumberAndCode(t *testing.T) {
	got := newTestRenderer(t).VerifyURL(proofFixture())
	want := testVerifyBase + "?no=LBP20260115038472910563&code=7K3M9QXD"
	if got != want {
		t.Errorf("VerifyURL = %q, want %q", got, want)
	}
}

func TestNewRendererRefusesUnusableVerifyURLs(t *testing.T) {
	for _, u := range []string{"", "lianban.example/verify", "ftp://lianban.example/v", "https://lianban.example/v?x=1", "https:///v"} {
		if _, err := NewRenderer(u); err == nil {
			t.Errorf("NewRenderer(%q) succeeded", u)
		}
	}
}

// TestCoverageAgreesWithGopdf: the glyph check must refuse exactly what
// gopdf would print as a blank or a box.
func TestCoverageAgreesWithGopdf(t *testing.T) {
	r := newTestRenderer(t)
	data, err := fontFiles.ReadFile(fontPath)
	if err != nil {
		t.Fatal(err)
	}
	var f gopdf.SubsetFontObj
	if err := f.SetTTFData(data); err != nil {
		t.Fatal(err)
	}
	check := func(from, to rune) {
		for ch := from; ch <= to; ch++ {
			if ch >= 0xD800 && ch <= 0xDFFF {
				continue
			}
			g, err := f.CharCodeToGlyphIndex(ch)
			if want := err == nil && g != 0; r.font.coverage.has(ch) != want {
				t.Fatalf("%U: coverage %v, gopdf %v", ch, !want, want)
			}
		}
	}
	check(0, 0xFFFF)
	check(0x2C000, 0x2CFFF) // around 𬌗
	check(0x30000, 0x3134F) // Extension G
}

func TestFixToUnicodeWritesSurrogatePairsInPlace(t *testing.T) {
	cmap := cmapStart + "12 dict begin\nbegincmap\n1 begincodespacerange\n<0013><6EF8>\nendcodespacerange\n" +
		"3 beginbfrange\n<0013><0013><0030>\n<6EF8><6EF8><2C317>\n<1F97><1F97><674E>\nendbfrange\n" + cmapEnd
	pdf := []byte("<< /Length 999 >>\nstream\n" + cmap + "endstream\n")
	n := len(pdf)
	if err := fixToUnicode(pdf); err != nil {
		t.Fatal(err)
	}
	if len(pdf) != n {
		t.Fatalf("length changed")
	}
	for _, want := range []string{"3 beginbfchar\n<0013><0030>\n<6EF8><D870DF17>\n<1F97><674E>\nendbfchar\n", cmapEnd} {
		if !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("rewritten CMap lacks %q:\n%s", want, pdf)
		}
	}

	bmpOnly := []byte(strings.Replace(string(cmap), "<2C317>", "<5F20>", 1))
	before := string(bmpOnly)
	if err := fixToUnicode(bmpOnly); err != nil || string(bmpOnly) != before {
		t.Errorf("a BMP-only CMap was changed (err %v)", err)
	}
	if err := fixToUnicode([]byte("%PDF-1.7 no cmap")); err == nil {
		t.Error("a PDF without a CMap passed")
	}
}

func TestFontLicenseShipsWithTheFont(t *testing.T) {
	l := FontLicense()
	for _, want := range []string{"Copyright 2021-2022 lxgw", "SIL OPEN FONT LICENSE Version 1.1", "Reserved Font Names"} {
		if !strings.Contains(l, want) {
			t.Errorf("licence lacks %q", want)
		}
	}
}
