package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
)

func mustLoad(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func service(t *testing.T, c *Catalog, code string) models.Service {
	t.Helper()
	for _, s := range c.Services {
		if s.Code == code {
			return s
		}
	}
	t.Fatalf("service %s not found", code)
	return models.Service{}
}

func TestTheCatalogHasTheTenBusinessesOfTheSeed(t *testing.T) {
	c := mustLoad(t)
	want := []struct{ code, department, name, timeLimit string }{
		{"mi_enrol_enterprise", models.DeptMedicalInsurance, "企业医疗保险参保业务", "即时办理"},
		{"mi_enrol_institution", models.DeptMedicalInsurance, "机关事业单位医疗保险参保业务", "即时办理"},
		{"mi_enrol_flexible", models.DeptMedicalInsurance, "灵活就业人员医疗保险参保业务", "即时办理"},
		{"si_enrol_enterprise", models.DeptSocialInsurance, "企业养老保险参保业务", "即时办理"},
		{"si_enrol_institution", models.DeptSocialInsurance, "机关事业单位养老保险参保业务", "即时办理"},
		{"si_enrol_flexible", models.DeptSocialInsurance, "灵活就业人员养老保险参保业务", "即时办理"},
		{"tax_unit_declare_pay", models.DeptTax, "单位社会保险费申报缴纳", "即时办结"},
		{"tax_person_declare_pay", models.DeptTax, "自然人社会保险费申报缴纳", "即时办结"},
		{"tax_unit_refund", models.DeptTax, "单位社会保险费退费申请", "即时办结"},
		{"tax_person_refund", models.DeptTax, "自然人社会保险费退费申请", "即时受理"},
	}
	if len(c.Services) != len(want) {
		t.Fatalf("%d services, want %d", len(c.Services), len(want))
	}
	for i, w := range want {
		s := c.Services[i]
		if s.Code != w.code || s.Department != w.department || s.Name != w.name || s.TimeLimit != w.timeLimit {
			t.Errorf("service %d = %s/%s/%s/%s, want %+v", i, s.Code, s.Department, s.Name, s.TimeLimit, w)
		}
	}
}

func TestEveryServiceHasEveryFieldFilled(t *testing.T) {
	// The seed lists no materials for unit enrolment ("【办理材料】无。") and
	// none for unit declaration; those, and only those, have an empty list.
	noMaterials := []string{"mi_enrol_enterprise", "mi_enrol_institution", "si_enrol_enterprise", "si_enrol_institution", "tax_unit_declare_pay"}
	for _, s := range mustLoad(t).Services {
		t.Run(s.Code, func(t *testing.T) {
			for field, v := range map[string]string{"name": s.Name, "who": s.Who, "time_limit": s.TimeLimit, "result_delivery": s.ResultDelivery} {
				if v == "" {
					t.Errorf("%s is empty", field)
				}
			}
			for field, v := range map[string][]string{"ways": s.Ways, "channels": s.Channels, "steps": s.Steps, "conditions": s.Conditions} {
				if len(v) == 0 || slices.Contains(v, "") {
					t.Errorf("%s is empty or has an empty entry: %q", field, v)
				}
			}
			if want := !slices.Contains(noMaterials, s.Code); (len(s.Materials) > 0) != want {
				t.Errorf("materials = %+v, want non-empty: %v", s.Materials, want)
			}
			for _, m := range s.Materials {
				if m.Name == "" || m.Copies < 1 || m.Note == "" {
					t.Errorf("material %+v lacks a name, copies or note", m)
				}
			}
		})
	}
}

func TestServicesCarryTheSeedsFacts(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"the natural-person declaration lists the ten channels in the seed's order", func(t *testing.T) {
			got := service(t, c, "tax_person_declare_pay").Channels
			want := []string{"内蒙古税务手机APP", "“内蒙古税务社保缴费”微信小程序", "微信城市服务", "支付宝市民中心", "蒙速办",
				"办税服务厅", "云POS终端", "合作银行（建设银行、农村信用社）柜台", "建设银行裕农通", "设立在乡镇（街道、社区）各征收网点"}
			if !slices.Equal(got, want) {
				t.Fatalf("channels = %q", got)
			}
		}},
		{"flexible-worker enrolment can be done on the phone and is delivered on the spot", func(t *testing.T) {
			for _, code := range []string{"mi_enrol_flexible", "si_enrol_flexible"} {
				s := service(t, c, code)
				if !slices.Equal(s.Ways, []string{"现场办理", "网络办理", "掌上办理"}) || s.ResultDelivery != "当场送达" || s.Who != "符合条件的灵活就业人员" {
					t.Fatalf("%s: ways %q, delivery %q, who %q", code, s.Ways, s.ResultDelivery, s.Who)
				}
				if len(s.Materials) != 1 || s.Materials[0].Name != "居民身份证（社会保障卡）" || s.Materials[0].Note != "原件或复印件" {
					t.Fatalf("%s: materials %+v", code, s.Materials)
				}
			}
		}},
		{"unit enrolment is done at the window or online only", func(t *testing.T) {
			for _, code := range []string{"mi_enrol_enterprise", "mi_enrol_institution", "si_enrol_enterprise", "si_enrol_institution"} {
				if got := service(t, c, code).Ways; !slices.Equal(got, []string{"现场办理", "网络办理"}) {
					t.Fatalf("%s: ways %q", code, got)
				}
			}
		}},
		{"refunds are handled at the tax hall with the refund form in three copies", func(t *testing.T) {
			for _, code := range []string{"tax_unit_refund", "tax_person_refund"} {
				s := service(t, c, code)
				if !slices.Equal(s.Channels, []string{"办税服务厅"}) || len(s.Steps) != 5 {
					t.Fatalf("%s: channels %q, %d steps", code, s.Channels, len(s.Steps))
				}
				if m := s.Materials[0]; m.Name != "《社会保险费退费申请表》" || m.Copies != 3 {
					t.Fatalf("%s: first material %+v", code, m)
				}
				if !strings.Contains(s.Steps[1], "一次性告知原因") {
					t.Fatalf("%s: step 2 %q does not promise 一次性告知", code, s.Steps[1])
				}
			}
		}},
		{"only amounts already credited can be refunded to a person", func(t *testing.T) {
			if got := service(t, c, "tax_person_refund").Conditions; len(got) != 1 || !strings.Contains(got[0], "已入库") {
				t.Fatalf("conditions %q", got)
			}
		}},
		{"the unit refund asks for the bank permit and vouchers in two copies", func(t *testing.T) {
			m := service(t, c, "tax_unit_refund").Materials
			if len(m) != 3 || m[1].Name != "银行开户许可证复印件" || m[1].Copies != 2 || m[2].Name != "缴费凭证" || m[2].Copies != 2 {
				t.Fatalf("materials %+v", m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func TestAServiceRendersWithTheAPIFieldNames(t *testing.T) {
	b, err := json.Marshal(mustLoad(t).Services[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"channels", "code", "compiled", "conditions", "department", "materials", "name", "online_steps", "result_delivery",
		"steps", "time_limit", "ways", "who"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	if _, isList := m["materials"].([]any); !isList {
		t.Fatalf("materials rendered as %v, want a list even when empty", m["materials"])
	}
}

func TestThePolicyCoversTwelveRegionsForEveryYearFrom2023To2027(t *testing.T) {
	book := mustLoad(t).Policy
	if book.Version() != "2026.11-4" || book.FemaleFlexibleRetirementAge() != 55 {
		t.Fatalf("version %q, female age %d", book.Version(), book.FemaleFlexibleRetirementAge())
	}
	if first, last := book.Years(); first != 2023 || last != 2027 {
		t.Fatalf("Years() = %d, %d", first, last)
	}
	want := map[string]string{
		"150100": "呼和浩特市", "150200": "包头市", "150300": "乌海市", "150400": "赤峰市",
		"150500": "通辽市", "150600": "鄂尔多斯市", "150700": "呼伦贝尔市", "150800": "巴彦淖尔市",
		"150900": "乌兰察布市", "152200": "兴安盟", "152500": "锡林郭勒盟", "152900": "阿拉善盟",
	}
	regions := book.Regions()
	if len(regions) != len(want) {
		t.Fatalf("%d regions, want 12", len(regions))
	}
	for _, r := range regions {
		if want[r.Code] != r.Name {
			t.Errorf("region %s = %s, want %s", r.Code, r.Name, want[r.Code])
		}
		for y := 2023; y <= 2027; y++ {
			p, err := book.Year(r.Code, y)
			if err != nil {
				t.Fatalf("Year(%s, %d): %v", r.Code, y, err)
			}
			if p.Region != r.Code || p.RegionName != r.Name || p.Year != y {
				t.Fatalf("Year(%s, %d) is for %s %s %d", r.Code, y, p.Region, p.RegionName, p.Year)
			}
		}
	}
	if _, err := book.Year("150100", 2028); !errors.Is(err, models.ErrPolicyUnavailable) {
		t.Fatalf("2028: %v, want ErrPolicyUnavailable", err)
	}
	if _, err := book.Year("110100", 2025); !errors.Is(err, models.ErrRegionInvalid) {
		t.Fatalf("Beijing: %v, want ErrRegionInvalid", err)
	}
}

// everyRegionYear calls f for all 60 region × year figures.
func everyRegionYear(t *testing.T, f func(t *testing.T, p models.PolicyYear)) {
	t.Helper()
	book := mustLoad(t).Policy
	for _, r := range book.Regions() {
		for y := 2023; y <= 2027; y++ {
			p, err := book.Year(r.Code, y)
			if err != nil {
				t.Fatal(err)
			}
			f(t, p)
		}
	}
}

func TestFlexiblePensionFiguresMatchThePublishedLimits(t *testing.T) {
	want := map[int]struct{ avg, min, max, minFee, maxFee models.Fen }{
		2023: {746900, 448100, 2240700, 89620, 448140},
		2024: {810500, 486300, 2431500, 97260, 486300},
		2025: {817900, 490700, 2453700, 98140, 490740},
		2026: {817900, 490700, 2453700, 98140, 490740}, // provisional: 2025 carried over
		2027: {817900, 490700, 2453700, 98140, 490740}, // provisional: 2025 carried over
	}
	// Windows per notice: 2025 from 内人社办发〔2025〕160号; 2024 from a
	// third-party page; 2023 not found (calendar year, marked UNVERIFIED);
	// 2026 and 2027 provisionally repeat the 2025 notice's dates.
	wantWindow := map[int]models.Window{
		2023: {From: "2023-01-01", To: "2023-12-31"},
		2024: {From: "2024-09-14", To: "2024-12-25"},
		2025: {From: "2025-10-09", To: "2025-12-20"},
		2026: {From: "2026-10-09", To: "2026-12-20"},
		2027: {From: "2027-10-09", To: "2027-12-20"},
	}
	everyRegionYear(t, func(t *testing.T, p models.PolicyYear) {
		w, fp := want[p.Year], p.FlexiblePension
		if fp.AverageWageFen != w.avg || fp.BaseMinFen != w.min || fp.BaseMaxFen != w.max {
			t.Fatalf("%s %d: %d %d–%d, want %+v", p.Region, p.Year, fp.AverageWageFen, fp.BaseMinFen, fp.BaseMaxFen, w)
		}
		if fp.RateBP != 2000 || fp.PooledBP != 1200 || fp.PersonalBP != 800 {
			t.Fatalf("%s %d: rates %d/%d/%d", p.Region, p.Year, fp.RateBP, fp.PooledBP, fp.PersonalBP)
		}
		if fp.Window != wantWindow[p.Year] {
			t.Fatalf("%s %d: window %+v, want %+v", p.Region, p.Year, fp.Window, wantWindow[p.Year])
		}
		// The one source for grades lists 60/70/80/90/100/200/300%; no 150%.
		if !slices.Equal(fp.GradesPercent, []int64{60, 70, 80, 90, 100, 200, 300}) {
			t.Fatalf("%s %d: grades %v", p.Region, p.Year, fp.GradesPercent)
		}
		opts := models.FlexiblePensionOptions(p)
		lo, hi := opts[0], opts[len(opts)-1]
		// The lowest and highest grades must land exactly on the published
		// limits, or the rounding and the figures disagree.
		if lo.Code != "grade_60" || lo.BaseFen != w.min || lo.AmountFen != w.minFee || hi.Code != "grade_300" || hi.BaseFen != w.max || hi.AmountFen != w.maxFee {
			t.Fatalf("%s %d: options %+v … %+v", p.Region, p.Year, lo, hi)
		}
	})
}

func TestFlexibleMedicalFigures(t *testing.T) {
	everyRegionYear(t, func(t *testing.T, p models.PolicyYear) {
		fm := p.FlexibleMedical
		if p.Region == "150500" && p.Year == 2023 {
			// 通辽 2023: 7,469 × 8% → 597.52 a month; 7,469 × 4.8% → 358.51.
			if fm.BaseFen != 746900 || fm.CombinedBP != 800 || fm.PoolingOnlyBP != 480 || fm.LongTermCareBP != 0 {
				t.Fatalf("通辽 2023: %+v", fm)
			}
			opts := models.PayOptions(p, models.SchemeFlexibleMedical, "")
			if opts[0].AmountFen*12+fm.LargeAmountYearFen != 727024 || opts[1].AmountFen*12+fm.LargeAmountYearFen != 440212 {
				t.Fatalf("通辽 2023 yearly totals %d and %d, want 7,270.24 and 4,402.12 元", opts[0].AmountFen*12+fm.LargeAmountYearFen, opts[1].AmountFen*12+fm.LargeAmountYearFen)
			}
			return
		}
		// 80% of the prior-year average wage.
		if fm.BaseFen != p.FlexiblePension.AverageWageFen.MulBP(8000) {
			t.Fatalf("%s %d: base %d is not 80%% of %d", p.Region, p.Year, fm.BaseFen, p.FlexiblePension.AverageWageFen)
		}
		if fm.CombinedBP != 760 || fm.PoolingOnlyBP != 460 || fm.LongTermCareBP != 40 || fm.LargeAmountYearFen != 10000 {
			t.Fatalf("%s %d: %+v", p.Region, p.Year, fm)
		}
	})
}

func TestResidentMedicalFigures(t *testing.T) {
	book := mustLoad(t).Policy
	tests := []struct {
		name            string
		region          string
		year            int
		amount, subsidy models.Fen
		window          models.Window
		groups          map[string]models.Fen
	}{
		{"2026 is 400 yuan with a 700 subsidy, collected 2025-09-01 to 12-31", "150400", 2026, 40000, 70000, models.Window{From: "2025-09-01", To: "2025-12-31"}, nil},
		{"包头 2026 collects from 2025-09-25 and reduces 低保 to 120", "150200", 2026, 40000, 70000, models.Window{From: "2025-09-25", To: "2025-12-31"},
			map[string]models.Fen{"destitute_orphan": 0, "minimum_living": 12000}},
		{"呼和浩特 2026 reduces 低保 to 200", "150100", 2026, 40000, 70000, models.Window{From: "2025-09-01", To: "2025-12-31"},
			map[string]models.Fen{"minimum_living": 20000}},
		{"巴彦淖尔 (临河) 2026 reduces 低保 to 200", "150800", 2026, 40000, 70000, models.Window{From: "2025-09-01", To: "2025-12-31"},
			map[string]models.Fen{"destitute_orphan": 0, "minimum_living": 20000}},
		{"乌兰察布 2025 reduces 医疗救助对象 to 220", "150900", 2025, 40000, 67000, models.Window{From: "2024-09-01", To: "2025-02-28"},
			map[string]models.Fen{"destitute_orphan": 0, "minimum_living": 22000}},
		{"2025 is 400 yuan with a 670 subsidy", "152900", 2025, 40000, 67000, models.Window{From: "2024-09-01", To: "2025-02-28"}, nil},
		{"锡林郭勒 charged 400 already for 2024", "152500", 2024, 40000, 64000, models.Window{From: "2023-09-01", To: "2024-03-31"}, nil},
		{"呼和浩特 2024 is 390 including 10 of long-term care", "150100", 2024, 39000, 64000, models.Window{From: "2023-09-01", To: "2024-03-31"}, nil},
		{"2027 is provisionally 400/700, collected from 2026-09-01 to 12-31", "150600", 2027, 40000, 70000, models.Window{From: "2026-09-01", To: "2026-12-31"}, nil},
		{"包头 2027 keeps its assisted groups but the default window", "150200", 2027, 40000, 70000, models.Window{From: "2026-09-01", To: "2026-12-31"},
			map[string]models.Fen{"destitute_orphan": 0, "minimum_living": 12000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := book.Year(tt.region, tt.year)
			if err != nil {
				t.Fatal(err)
			}
			rm := p.ResidentMedical
			if rm.AmountFen != tt.amount || rm.SubsidyFen != tt.subsidy || rm.Window != tt.window {
				t.Fatalf("%+v", rm)
			}
			got := map[string]models.Fen{}
			for _, g := range rm.AssistedGroups {
				got[g.Code] = g.AmountFen
			}
			if len(got) != len(tt.groups) {
				t.Fatalf("assisted groups %+v, want %v", rm.AssistedGroups, tt.groups)
			}
			for code, amount := range tt.groups {
				if a, ok := got[code]; !ok || a != amount {
					t.Fatalf("assisted groups %+v, want %v", rm.AssistedGroups, tt.groups)
				}
			}
		})
	}
}

func TestResidentMedicalFor2027CanBePaidOn28November2026(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, models.Beijing)
	everyRegionYear(t, func(t *testing.T, p models.PolicyYear) {
		if p.Year == 2027 && !p.ResidentMedical.Window.Contains(now) {
			t.Fatalf("%s: window %+v does not contain %s", p.Region, p.ResidentMedical.Window, now)
		}
		if p.Year == 2026 && p.ResidentMedical.Window.Contains(now) {
			t.Fatalf("%s: the 2026 window %+v is still open on %s", p.Region, p.ResidentMedical.Window, now)
		}
	})
}

func TestResidentPensionGradesAndSubsidies(t *testing.T) {
	want := []struct{ yuan, subsidy models.Fen }{
		{200, 40}, {300, 50}, {400, 60}, {500, 70}, {600, 70}, {700, 70}, {800, 70}, {900, 70}, {1000, 70},
		{1500, 100}, {2000, 120}, {3000, 140}, {4000, 140}, {5000, 140},
	}
	everyRegionYear(t, func(t *testing.T, p models.PolicyYear) {
		rp := p.ResidentPension
		if rp.Window != (models.Window{From: itoa(p.Year) + "-01-01", To: itoa(p.Year) + "-12-31"}) {
			t.Fatalf("%s %d: window %+v, want the calendar year", p.Region, p.Year, rp.Window)
		}
		if p.Year < 2025 {
			// The source for 2023–2024 gives 13 grades from 100 to 3,000 元
			// with subsidies of 30–85 元 but not the grades themselves:
			// none is offered rather than the 2025 list or a guess.
			if len(rp.Grades) != 0 || rp.Verified || !strings.Contains(rp.Source.Note, "13个档次") {
				t.Fatalf("%s %d: %+v", p.Region, p.Year, rp)
			}
			if opts := models.PayOptions(p, models.SchemeResidentPension, ""); len(opts) != 0 {
				t.Fatalf("%s %d: offers %+v", p.Region, p.Year, opts)
			}
			return
		}
		if len(rp.Grades) != len(want) {
			t.Fatalf("%s %d: %d grades", p.Region, p.Year, len(rp.Grades))
		}
		for i, w := range want {
			if rp.Grades[i] != (models.PensionGrade{AmountFen: w.yuan * 100, SubsidyFen: w.subsidy * 100}) {
				t.Fatalf("%s %d: grade %d = %+v, want %+v", p.Region, p.Year, i, rp.Grades[i], w)
			}
		}
	})
}

func TestOnlyUnpublishedYearsAreProvisionalAndSayWhy(t *testing.T) {
	everyRegionYear(t, func(t *testing.T, p models.PolicyYear) {
		wantProvisional := p.Year >= 2026
		if p.Provisional != wantProvisional {
			t.Fatalf("%s %d: provisional = %v, want %v", p.Region, p.Year, p.Provisional, wantProvisional)
		}
		if !wantProvisional {
			return
		}
		if !strings.Contains(p.Source, "暂定") {
			t.Fatalf("%s %d: year source %q does not say it is provisional", p.Region, p.Year, p.Source)
		}
		carried := map[string]models.PolicySource{"flexible_pension": p.FlexiblePension.Source, "flexible_medical": p.FlexibleMedical.Source}
		if p.Year == 2027 {
			carried["resident_medical"] = p.ResidentMedical.Source
		}
		for name, src := range carried {
			if src.Tag != models.SourceProvisional || !strings.Contains(src.Note, "暂定") {
				t.Fatalf("%s %d %s source %+v is not marked provisional", p.Region, p.Year, name, src)
			}
		}
	})
}

// blocks names the four scheme blocks of a PolicyYear with their sources.
func blocks(p models.PolicyYear) map[string]struct {
	src      models.PolicySource
	verified bool
} {
	type block = struct {
		src      models.PolicySource
		verified bool
	}
	return map[string]block{
		"flexible_pension": {p.FlexiblePension.Source, p.FlexiblePension.Verified},
		"flexible_medical": {p.FlexibleMedical.Source, p.FlexibleMedical.Verified},
		"resident_medical": {p.ResidentMedical.Source, p.ResidentMedical.Verified},
		"resident_pension": {p.ResidentPension.Source, p.ResidentPension.Verified},
	}
}

func TestEveryFigureNamesItsSourceWithAReliabilityTag(t *testing.T) {
	verified := map[string]bool{}
	everyRegionYear(t, func(t *testing.T, p models.PolicyYear) {
		if p.Source == "" {
			t.Fatalf("%s %d: no year summary", p.Region, p.Year)
		}
		for name, b := range blocks(p) {
			src := b.src
			if !slices.Contains(models.SourceTags, src.Tag) || src.Title == "" || src.Note == "" {
				t.Fatalf("%s %d %s: source %+v lacks a tag, a title or a note", p.Region, p.Year, name, src)
			}
			if src.URL == "" && src.Tag != models.SourceGeneral && src.Tag != models.SourceUnverified && src.Tag != models.SourceProvisional {
				t.Fatalf("%s %d %s: %s source without a url", p.Region, p.Year, name, src.Tag)
			}
			if b.verified {
				if src.Tag != models.SourceOfficial {
					t.Fatalf("%s %d %s: verified on a %s source", p.Region, p.Year, name, src.Tag)
				}
				verified[fmt.Sprintf("%d %s %s", p.Year, p.Region, name)] = true
			}
		}
	})
	// Verified figures are few and each was checked against an official
	// page: 2025 flexible pension (内人社办发〔2025〕160号 via 杭锦后旗) in
	// every region, and 包头's 2026 resident medical notice.
	want := map[string]bool{"2026 150200 resident_medical": true}
	for _, r := range mustLoad(t).Policy.Regions() {
		want["2025 "+r.Code+" flexible_pension"] = true
	}
	if !maps.Equal(verified, want) {
		t.Fatalf("verified blocks %v, want %v", slices.Sorted(maps.Keys(verified)), slices.Sorted(maps.Keys(want)))
	}
	book := mustLoad(t).Policy
	p, _ := book.Year("150100", 2025)
	fp := p.FlexiblePension.Source
	if fp.Tag != models.SourceOfficial || fp.DocNo != "内人社办发〔2025〕160号" || !strings.HasPrefix(fp.URL, "http://www.hjhq.gov.cn/") ||
		!strings.Contains(fp.Note, "2025年10月9日至2025年12月20日") {
		t.Fatalf("2025 pension source %+v does not cite 内人社办发〔2025〕160号 and its window", fp)
	}
}

func TestFlexibleMedicalIsVerifiedNowhereAndSaysWhy(t *testing.T) {
	everyRegionYear(t, func(t *testing.T, p models.PolicyYear) {
		fm := p.FlexibleMedical
		if fm.Verified {
			t.Fatalf("%s %d: flexible medical marked verified: %+v", p.Region, p.Year, fm.Source)
		}
		switch {
		case p.Region == "150200" && p.Year == 2023:
			// 包头's own notice conflicts with the figures: it must say so.
			if fm.Source.Tag != models.SourceMedia || fm.Source.Date != "2022-06-28" || !strings.Contains(fm.Source.Note, "8.5%") || !strings.Contains(fm.Source.Note, "冲突") {
				t.Fatalf("包头 2023 source %+v", fm.Source)
			}
		case p.Region == "150500" && p.Year == 2023:
			if !strings.Contains(fm.Source.Title, "通辽") || len(fm.Source.Also) != 0 {
				t.Fatalf("通辽 2023 source %+v (an override must not keep the default's references)", fm.Source)
			}
		default:
			if !strings.Contains(fm.Source.Note, "没有任何一个盟市的本地来源") {
				t.Fatalf("%s %d: default flexible medical source %+v does not say it is no region's own figure", p.Region, p.Year, fm.Source)
			}
		}
	})
}

func TestABlockBuiltOnAnAnchorKeepsNothingOfTheAnchorsSource(t *testing.T) {
	p, err := mustLoad(t).Policy.Year("150300", 2026)
	if err != nil {
		t.Fatal(err)
	}
	// 2026 reuses the 2025 pension block; its source has no date and is
	// not verified, whatever the 2025 source said.
	if src := p.FlexiblePension.Source; src.Date != "" || src.Issuer != "" || p.FlexiblePension.Verified || len(src.Also) != 1 {
		t.Fatalf("2026 pension source %+v verified %v", src, p.FlexiblePension.Verified)
	}
}

func TestThePolicyRendersSourcesAsObjects(t *testing.T) {
	p, _ := mustLoad(t).Policy.Year("150200", 2026)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	_ = json.Unmarshal(b, &m)
	rm := m["resident_medical"]
	src, ok := rm["source"].(map[string]any)
	if !ok || src["tag"] != "OFF" || src["url"] == "" || rm["verified"] != true {
		t.Fatalf("resident_medical rendered as %v", rm)
	}
	if also, ok := m["resident_pension"]["source"].(map[string]any)["also"].([]any); !ok || also == nil {
		t.Fatalf("also rendered as %v, want a list even when empty", m["resident_pension"]["source"])
	}
}

func TestTheLoaderRefusesAPolicyFileWithMistakes(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replaced once in policy.yaml
		want     string
	}{
		{"a misspelt key at the top", "\nversion:", "\nverison:", "field verison not found"},
		{"a misspelt figure in a defaults block", "rate_bp: 2000", "rate_bps: 2000", "field rate_bps not found"},
		{"a misspelt figure in an override", "combined_bp: 800", "combined_bpp: 800", "field combined_bpp not found"},
		{"an override for a region that does not exist", `"150500": # 通辽`, `"150555": # 通辽`, `unknown region "150555"`},
		{"a year without a summary source", `source: "2023年度`, `source: "" # `, "year 2023: source is empty"},
		{"an inconsistent figure", "base_min_fen: 448100", "base_min_fen: 9448100", "base_min_fen"},
		{"a female retirement age that is not 50 or 55", "female_flexible_retirement_age: 55", "female_flexible_retirement_age: 60", "must be 50 or 55"},
		{"an override for a region removed from the list", "  - {code: \"150500\", name: 通辽市}\n", "", `override for unknown region "150500"`},
		{"an override without its own verified flag", "          verified: true\n", "", "override 150200, resident_medical: needs its own source and verified"},
		{"a block inheriting verified through an anchor", "        verified: false\n    overrides:\n      \"150100\":\n        resident_medical:\n          assisted_groups: *hohhot_assisted",
			"    overrides:\n      \"150100\":\n        resident_medical:\n          assisted_groups: *hohhot_assisted", "year 2027, defaults, resident_pension: needs its own source and verified"},
		{"verified figures from a source that is not official", "          tag: OFF\n", "          tag: 3P\n", "verified figures need an official (OFF) source"},
		{"a misspelt key in a source", "          note: ", "          notes: ", "field notes not found"},
		{"a source without a tag", "          tag: 3P\n", "", "source tag \"\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(policyYAML, tt.old) {
				t.Fatalf("policy.yaml has no %q; update the test", tt.old)
			}
			src := strings.Replace(policyYAML, tt.old, tt.new, 1)
			_, err := load([]byte(servicesYAML), []byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTheLoaderRefusesAServicesFileWithMistakes(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"a misspelt key", "time_limit: 即时办理", "timelimit: 即时办理", "field timelimit not found"},
		{"an unknown department", "department: tax", "department: treasury", `unknown department "treasury"`},
		{"a way of handling the seed does not have", "ways: [现场办理]", "ways: [邮寄办理]", `way "邮寄办理"`},
		{"a duplicate code", "code: tax_person_refund", "code: tax_unit_refund", "listed twice"},
		{"a code that is not snake_case", "code: tax_person_refund", "code: TaxPersonRefund", "snake_case"},
		{"a material without copies", "copies: 3", "copies: 0", "at least one copy"},
		{"an empty result delivery", "result_delivery: 税务机关将退费结果向缴费人进行反馈", "result_delivery: \"\"", "result_delivery are required"},
		{"a second YAML document", "services:", "services: []\n---\nservices:", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(servicesYAML, tt.old) {
				t.Fatalf("services.yaml has no %q; update the test", tt.old)
			}
			src := strings.Replace(servicesYAML, tt.old, tt.new, 1)
			_, err := load([]byte(src), []byte(policyYAML))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAnOverrideChangesOnlyWhatItListsAndOnlyForItsRegion(t *testing.T) {
	book := mustLoad(t).Policy
	baotou, _ := book.Year("150200", 2026)
	wuhai, _ := book.Year("150300", 2026)
	if baotou.ResidentMedical.AmountFen != wuhai.ResidentMedical.AmountFen || baotou.ResidentMedical.SubsidyFen != wuhai.ResidentMedical.SubsidyFen {
		t.Fatalf("包头 amounts %+v differ from the defaults %+v", baotou.ResidentMedical, wuhai.ResidentMedical)
	}
	if baotou.ResidentMedical.Window == wuhai.ResidentMedical.Window {
		t.Fatal("包头's window override did not apply")
	}
	if len(wuhai.ResidentMedical.AssistedGroups) != 0 {
		t.Fatalf("乌海 got another region's assisted groups: %+v", wuhai.ResidentMedical.AssistedGroups)
	}
	if baotou.FlexiblePension.BaseMinFen != wuhai.FlexiblePension.BaseMinFen {
		t.Fatal("an override of resident medical changed the pension figures")
	}
}

func itoa(y int) string { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") }

// TestTheUnitBusinessesNameTheOperationsThatDoThemOnline: the six unit
// businesses of the seed (1, 2, 4, 5, 7, 9) list their steps in this
// system, each with the API operations that do it, in the order a unit
// goes through them; the person's businesses have none yet.
// handlers' TestTheServiceGuideNamesRealOperations checks the names
// against the spec.
func TestTheUnitBusinessesNameTheOperationsThatDoThemOnline(t *testing.T) {
	c := mustLoad(t)
	ops := func(code string) []string {
		var out []string
		for _, st := range service(t, c, code).OnlineSteps {
			out = append(out, st.Operations...)
		}
		return out
	}
	// inOrder reports whether the operations of chain come in that order.
	inOrder := func(code string, chain ...string) {
		t.Helper()
		got := ops(code)
		last := -1
		for _, op := range chain {
			i := slices.Index(got, op)
			if i < 0 || i < last {
				t.Errorf("%s: %s missing or out of order in %q", code, op, got)
				return
			}
			last = i
		}
	}
	for code, scheme := range map[string]string{"mi_enrol_enterprise": "enterprise_medical", "mi_enrol_institution": "institution_medical",
		"si_enrol_enterprise": "enterprise_pension", "si_enrol_institution": "institution_pension"} {
		inOrder(code, "bindUnit", "addUnitOperator", "registerUnitScheme", "addEmployees", "removeEmployee")
		if steps := service(t, c, code).OnlineSteps; !strings.Contains(steps[2].Step, scheme) {
			t.Errorf("%s registers %q", code, steps[2].Step)
		}
	}
	inOrder("tax_unit_declare_pay", "getUnitPayables", "createUnitDeclaration", "addTripartiteAgreement", "createUnitPayment", "issueCertificate", "verifyCertificate")
	inOrder("tax_unit_refund", "createUpload", "createUnitRefund", "acceptRefund", "reviewRefund", "executeRefund")
	if s := service(t, c, "tax_unit_refund"); !strings.Contains(s.OnlineSteps[2].Step, "一次性告知") {
		t.Errorf("the refund's acceptance step %q does not promise 一次性告知", s.OnlineSteps[2].Step)
	}
	for _, code := range []string{"mi_enrol_flexible", "si_enrol_flexible", "tax_person_declare_pay", "tax_person_refund"} {
		if got := service(t, c, code).OnlineSteps; len(got) != 0 {
			t.Errorf("%s has online steps %+v", code, got)
		}
	}
}

// TestWhatTheSeedLeavesEmptyIsMarkedCompiled: the fields written here
// because the seed has no wording for them (the "# 整理:" comments of
// services.yaml) are served in compiled, and the seed's own wording is
// never so marked.
func TestWhatTheSeedLeavesEmptyIsMarkedCompiled(t *testing.T) {
	c := mustLoad(t)
	unitEnrol := []string{"channels", "steps", "conditions", "result_delivery", "online_steps"}
	want := map[string][]string{
		"mi_enrol_enterprise":    unitEnrol,
		"mi_enrol_institution":   unitEnrol,
		"mi_enrol_flexible":      {"channels", "steps", "conditions"},
		"si_enrol_enterprise":    unitEnrol,
		"si_enrol_institution":   unitEnrol,
		"si_enrol_flexible":      {"channels", "steps", "conditions"},
		"tax_unit_declare_pay":   {"result_delivery", "online_steps"},
		"tax_person_declare_pay": {"result_delivery"},
		"tax_unit_refund":        {"online_steps"},
		"tax_person_refund":      nil,
	}
	for code, w := range want {
		if got := service(t, c, code).Compiled; !slices.Equal(got, w) {
			t.Errorf("%s: compiled %q, want %q", code, got, w)
		}
	}
	// The loader refuses online steps not marked, and names it cannot be.
	base := "services:\n  - {code: x, department: tax, name: n, who: w, ways: [现场办理], channels: [c], steps: [s], time_limit: t, conditions: [c], result_delivery: r"
	for name, extra := range map[string]string{
		"online steps not marked compiled": ", online_steps: [{step: s, operations: [bindUnit]}]}",
		"a step without operations":        ", online_steps: [{step: s, operations: []}], compiled: [online_steps]}",
		"a step naming a path":             ", online_steps: [{step: s, operations: [/api/v1/units]}], compiled: [online_steps]}",
		"compiled naming no field":         ", compiled: [code]}",
	} {
		if _, err := parseServices([]byte(base + extra)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseServices([]byte(base + ", online_steps: [{step: s, operations: [bindUnit]}], compiled: [online_steps]}")); err != nil {
		t.Errorf("a marked online step: %v", err)
	}
}
