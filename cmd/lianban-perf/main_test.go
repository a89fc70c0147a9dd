package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/sandbox"
)

func TestOptionsDefaultToIssue13sRunAndRefuseNonsense(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Duration != 10*time.Second || o.Conns != 64 || o.People != 25 || o.BigRows != 10000 || o.PprofAddr != "" || len(o.Only) != 0 {
		t.Fatalf("defaults %+v", o)
	}
	for _, n := range endpointNames {
		if !o.wants(n) {
			t.Fatalf("no -only should run %s", n)
		}
	}
	o, err = parseOptions([]string{"-duration", "3s", "-conns", "8", "-people", "4", "-only", " getMe,money ", "-pprof", "127.0.0.1:6060",
		"-server-env", "LIANBAN_WORKER_INTERVAL=1h", "-server-env", "LIANBAN_SANDBOX_CREDIT_DELAY=0s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Duration != 3*time.Second || o.Conns != 8 || o.People != 4 || !slices.Equal(o.Only, []string{"getMe", "money"}) || o.PprofAddr != "127.0.0.1:6060" ||
		!slices.Equal(o.ServerEnv, []string{"LIANBAN_WORKER_INTERVAL=1h", "LIANBAN_SANDBOX_CREDIT_DELAY=0s"}) {
		t.Fatalf("parsed %+v", o)
	}
	if !o.wants("healthz") || !o.wants("money") || o.wants("listRecords") {
		t.Fatal("-only getMe,money must run healthz (the ratios' base), getMe and money only")
	}
	for _, bad := range [][]string{{"-duration", "0s"}, {"-conns", "0"}, {"-people", "-1"}, {"-only", "listrecords"}, {"-big-rows", "0"}, {"stray"}, {"-nope"},
		{"-server-env", "WORKER_INTERVAL=1h"}, {"-server-env", "LIANBAN_WORKER_INTERVAL"}, {"-server-env", "LIANBAN_DATABASE=sqlite:///tmp/x.db"}} {
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestALineSaysRateLatenciesErrorsAndTheRatioToHealthz(t *testing.T) {
	l := resultLine{Name: "listRecords", Requests: 31340, RPS: 3134, P50: 12345 * time.Microsecond, P99: 147 * time.Millisecond, Errors: 2, FirstError: "500 boom"}
	got := l.format(65670)
	want := "| listRecords | 3134 | 12.3 ms | 147 ms | 2/31340 (first: 500 boom) | 4.8% |"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := (resultLine{Name: "healthz", RPS: 100, P50: 500 * time.Microsecond, P99: 2 * time.Millisecond}).format(100); got != "| healthz | 100 | 0.50 ms | 2.00 ms | 0/0 | 100.0% |" {
		t.Fatal(got)
	}
	if got := l.format(0); !strings.HasSuffix(got, "| – |") {
		t.Fatalf("no /healthz figure must print no ratio: %s", got)
	}
	if n := strings.Count(tableHeader, "\n") + 1; n != 2 || strings.Count(strings.SplitN(tableHeader, "\n", 2)[0], "|") != strings.Count(want, "|") {
		t.Fatalf("the header does not fit the lines:\n%s\n%s", tableHeader, want)
	}
}

func TestQuantileIsTheNearestRankOfTheSortedSamples(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if q := quantile(d, 0.50); q != 50*time.Millisecond {
		t.Fatalf("p50 %s", q)
	}
	if q := quantile(d, 0.99); q != 99*time.Millisecond {
		t.Fatalf("p99 %s", q)
	}
	if d[0] != 100*time.Millisecond {
		t.Fatal("quantile sorted the caller's samples")
	}
	if quantile([]time.Duration(nil), 0.99) != 0 || quantile(d[:1], 0.99) != 100*time.Millisecond {
		t.Fatal("empty or single sample")
	}
}

// A run's people have valid ID numbers of their own: none twice, none a
// sandbox demo person's (who is on record under another name).
func TestSeededIDNumbersAreValidAndDistinct(t *testing.T) {
	for _, known := range []string{"150102199003071237", "15010219620512222X", "150203195801203111"} {
		if c := checkDigit(known[:17]); c != known[17] {
			t.Fatalf("%s: check digit %c", known, c)
		}
	}
	seen := map[string]bool{}
	for n := range 3 * 365 * 20 {
		id := idNumber(n)
		if seen[id] {
			t.Fatalf("%s twice", id)
		}
		seen[id] = true
		if len(id) != 18 || !strings.HasPrefix(id, "150102") || checkDigit(id[:17]) != id[17] {
			t.Fatalf("bad id %s", id)
		}
		if y := id[6:10]; y < "1975" || y > "1995" {
			t.Fatalf("born %s: not of working age", y)
		}
	}
	// None is a demo person's (whose sequence digits are all below the
	// runs' 600), and the first few are men and women alike, of many ages.
	for _, p := range sandbox.DemoPeople() {
		if seen[p.IDNumber] || p.IDNumber[14:17] >= "600" {
			t.Fatalf("demo person %s's %s is among the runs' numbers", p.Name, p.IDNumber)
		}
	}
	years, women := map[string]bool{}, 0
	for n := range 100 {
		id := idNumber(n)
		years[id[6:10]] = true
		if (id[16]-'0')%2 == 0 {
			women++
		}
	}
	if len(years) < 10 || women < 40 || women > 60 {
		t.Fatalf("the first 100 people: born in %d years, %d women", len(years), women)
	}
}

// TestMakeBenchsMoneyStepsAreReadFromItsOutput: each step's line has the
// median of its runs, and a step missing from the output is an error,
// not a row of zeros.
func TestMakeBenchsMoneyStepsAreReadFromItsOutput(t *testing.T) {
	out := `goos: linux
BenchmarkDeclarePaySettle-2   	     230	   4849502 ns/op	  471943 B/op	    4686 allocs/op
BenchmarkDeclare-2            	    4258	    321267 ns/op	         1.909 x_insert
BenchmarkDeclare-2            	    3915	    337768 ns/op	         1.700 x_insert
BenchmarkDeclare-2            	    3829	    369456 ns/op	         1.932 x_insert
BenchmarkPay-2                	    2550	    470444 ns/op	         2.680 x_insert	   54138 B/op	     792 allocs/op
BenchmarkSettle-2             	    3244	    473079 ns/op	         2.759 x_insert
BenchmarkSettle-2             	    3036	    461755 ns/op	         2.629 x_insert
BenchmarkSettle-2             	    3124	    480112 ns/op	         2.701 x_insert
PASS
`
	lines, err := benchStepLines(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"| createDeclaration, in process (make bench) | – | – | 0.34 ms | 1.9 | |",
		"| createPayment, in process (make bench) | – | – | 0.47 ms | 2.7 | |",
		"| settle, in process (make bench) | – | – | 0.47 ms | 2.7 | |",
		"| declare+pay+settle, in process | – | | | 7.3 | |",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("lines\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if _, err := benchStepLines(strings.ReplaceAll(out, "BenchmarkPay-2", "BenchmarkPayX-2")); err == nil {
		t.Fatal("no BenchmarkPay line, and no error")
	}
}
