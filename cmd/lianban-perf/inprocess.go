package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// inProcessSteps runs make bench's money steps (BenchmarkDeclare, Pay and
// Settle, count times each) on the run's store set-up and returns their
// lines for the serial table. There each step runs in process, without
// HTTP, back to back, and is paired with an insert-commit right after it:
// issue 13's measure as first taken ("declare + pay + settle costs 16.6
// insert commits", make bench). It runs once the server has stopped, so
// that neither the server nor its workers share the cores with it.
func inProcessSteps(ctx context.Context, count int) ([]string, error) {
	target := "sqlite" // with LIANBAN_TEST_REDIS, as this run's server, on that Redis
	if os.Getenv("LIANBAN_TEST_POSTGRES") != "" {
		target = "postgres"
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^Benchmark(Declare|Pay|Settle)$",
		"-count", strconv.Itoa(count), "./bench/")
	cmd.Env = append(os.Environ(), "LIANBAN_BENCH_STORE="+target)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("make bench's money steps: %w\n%s", err, out)
	}
	return benchStepLines(string(out))
}

// benchResult is one line of `go test -bench` for a money step: its time
// per step and the step as a multiple of the insert-commit paired with it.
var benchResult = regexp.MustCompile(`(?m)^Benchmark(Declare|Pay|Settle)-\d+\s+\d+\s+(\d+(?:\.\d+)?) ns/op\s+(\d+(?:\.\d+)?) x_insert`)

// benchStepLines turns the benchmarks' output into the serial table's
// lines: per step the median (nearest rank) of its runs' time and
// multiple, then the three multiples' sum.
func benchStepLines(out string) ([]string, error) {
	steps := []struct{ bench, name string }{{"Declare", "createDeclaration"}, {"Pay", "createPayment"}, {"Settle", "settle"}}
	times, ratios := map[string][]float64{}, map[string][]float64{}
	for _, m := range benchResult.FindAllStringSubmatch(out, -1) {
		ns, err1 := strconv.ParseFloat(m[2], 64)
		x, err2 := strconv.ParseFloat(m[3], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("make bench's money steps: unreadable line %q", m[0])
		}
		times[m[1]], ratios[m[1]] = append(times[m[1]], ns), append(ratios[m[1]], x)
	}
	var lines []string
	var total float64
	for _, s := range steps {
		if len(ratios[s.bench]) == 0 {
			return nil, fmt.Errorf("make bench's money steps: no result for Benchmark%s in\n%s", s.bench, out)
		}
		x := quantile(ratios[s.bench], 0.50)
		total += x
		lines = append(lines, fmt.Sprintf("| %s, in process (make bench) | – | – | %s | %.1f | |", s.name,
			ms(time.Duration(quantile(times[s.bench], 0.50))), x))
	}
	return append(lines, fmt.Sprintf("| declare+pay+settle, in process | – | | | %.1f | |", total)), nil
}
