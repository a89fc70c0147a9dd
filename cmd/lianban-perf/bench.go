package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// bench drives the server for one run.
type bench struct {
	c   *client
	o   options
	pop *population
	// healthzRPS is this run's /healthz rate, the base of every ratio and
	// of the rates the open-loop lines are driven at.
	healthzRPS float64
}

func newBench(c *client, o options, pop *population) *bench { return &bench{c: c, o: o, pop: pop} }

// request is one request of a rotation.
type request struct {
	method, path string
	body         []byte
	p            *person
}

// attack drives reqs closed loop: o.Conns connections, each sending its
// next request as soon as the last is answered, for o.Duration.
func (b *bench) attack(ctx context.Context, name string, reqs []request) resultLine {
	return b.attackAt(ctx, name, reqs, 0)
}

// attackAt drives reqs open loop at perSecond requests a second (from up
// to o.Conns connections), or closed loop when it is 0.
func (b *bench) attackAt(ctx context.Context, name string, reqs []request, perSecond int) resultLine {
	line, _ := load{Base: b.c.base, Name: name, Reqs: reqs, Conns: b.o.Conns, Duration: b.o.Duration, Rate: perSecond}.run(ctx)
	return line
}

func (b *bench) healthz(ctx context.Context) (resultLine, error) {
	line := b.attack(ctx, "healthz", []request{{method: "GET", path: "/healthz"}})
	b.healthzRPS = line.RPS
	return line, ctx.Err()
}

// healthzAt is bare /healthz open loop at the rate of the read targets
// (30% of its own closed-loop rate): the p99 of a request that does
// nothing, on this machine, beside the load generator — the floor under
// every other open-loop line's p99.
func (b *bench) healthzAt(ctx context.Context) resultLine {
	rate := b.targetRate(0.30)
	return b.attackAt(ctx, fmt.Sprintf("healthz @%d/s (30%%)", rate), []request{{method: "GET", path: "/healthz"}}, rate)
}

func (b *bench) targetRate(share float64) int { return int(math.Ceil(share * b.healthzRPS)) }

// targetShare is issue 13's throughput target for a read, as a share of
// /healthz's rate in the same run; the p99 target (10 ms, 20 ms for
// queryPayables) is for a server carrying that load.
var targetShare = map[string]float64{"listRecords": 0.30, "getMe": 0.30, "getPayment": 0.30, "queryPayables": 0.15}

func jsonBody(v any) []byte {
	out, _ := json.Marshal(v)
	return out
}

// runCase runs one endpoint of endpointNames.
func (b *bench) runCase(ctx context.Context, name string) ([]resultLine, error) {
	var reqs []request
	people := b.pop.People
	for _, p := range people {
		switch name {
		case "listRecords":
			reqs = append(reqs, request{method: "GET", path: "/api/v1/records?person=self", p: p})
		case "getMe":
			reqs = append(reqs, request{method: "GET", path: "/api/v1/me", p: p})
		case "getPayment":
			reqs = append(reqs, request{method: "GET", path: "/api/v1/payments/" + p.Orders[0], p: p})
		case "queryPayables":
			reqs = append(reqs, request{method: "POST", path: "/api/v1/payables/query", body: jsonBody(map[string]string{"person": "self"}), p: p})
		}
	}
	switch name {
	case "issueCertificate":
		return b.certificates(ctx)
	case "money":
		return b.money(ctx)
	case "listRecords10k":
		reqs = []request{{method: "GET", path: "/api/v1/records?person=self", p: b.pop.Big}}
		if t := b.pop.BigRecordsMid; t != "" {
			reqs = append(reqs, request{method: "GET", path: "/api/v1/records?person=self&page_token=" + url.QueryEscape(t), p: b.pop.Big})
		}
	case "listPayments10k":
		reqs = []request{{method: "GET", path: "/api/v1/payments", p: b.pop.Big}}
		if t := b.pop.BigPaymentsMid; t != "" {
			reqs = append(reqs, request{method: "GET", path: "/api/v1/payments?page_token=" + url.QueryEscape(t), p: b.pop.Big})
		}
	}
	lines := []resultLine{b.attack(ctx, name, reqs)}
	// Closed loop, 64 connections always waiting make every latency a
	// queue: by Little's law p50 is about 64 ÷ rps, and the p99 is
	// /healthz's own tail at best. The latency at the target throughput is
	// measured open loop, at that rate.
	if share, ok := targetShare[name]; ok && b.healthzRPS > 0 && ctx.Err() == nil {
		rate := b.targetRate(share)
		lines = append(lines, b.attackAt(ctx, fmt.Sprintf("%s @%d/s (%.0f%%)", name, rate, 100*share), reqs, rate))
	}
	return lines, ctx.Err()
}

// ordersPerPerson stays under the server's orders-per-user-per-minute
// limit (20): a worker moves to a new person after this many months.
const ordersPerPerson = 15

// money runs declare + pay + settle, one month at a time, from o.Conns
// workers for o.Duration, and reports each step. Each worker pays for a
// person of its own (made before the clock starts) and makes a new one
// when that person has no month left or has paid ordersPerPerson months;
// the time that takes is left out of the steps' duration.
func (b *bench) money(ctx context.Context) ([]resultLine, error) {
	n := b.o.Conns
	type worker struct {
		p                        *person
		declare, pay, settle     []time.Duration
		chain                    []time.Duration // the three steps of each month paid
		errDeclare, errPay, err3 uint64
		firstErr                 string
		setup                    time.Duration
		r                        *mrand.Rand
	}
	ws := make([]*worker, n)
	var wg sync.WaitGroup
	var setupErr atomic.Value
	sem := make(chan struct{}, 8)
	for i := range ws {
		ws[i] = &worker{r: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)+100))}
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p, err := b.c.newPerson(ctx, w.r)
			if err != nil {
				setupErr.Store(err)
			}
			w.p = p
		}(ws[i])
	}
	wg.Wait()
	if err, ok := setupErr.Load().(error); ok {
		return nil, fmt.Errorf("money people: %w", err)
	}
	start := time.Now()
	deadline := start.Add(b.o.Duration)
	for _, w := range ws {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if w.p == nil || len(w.p.Periods) == 0 || len(w.p.Orders) >= ordersPerPerson {
					t := time.Now()
					p, err := b.c.newPerson(ctx, w.r)
					w.setup += time.Since(t)
					if err != nil {
						if w.firstErr == "" {
							w.firstErr = "new person: " + trimErr(err)
						}
						w.p = nil
						continue
					}
					w.p = p
				}
				t, failed, err := b.c.payMonth(ctx, w.p)
				switch failed {
				case "":
					w.declare, w.pay, w.settle = append(w.declare, t.Declare), append(w.pay, t.Pay), append(w.settle, t.Settle)
					w.chain = append(w.chain, t.Declare+t.Pay+t.Settle)
				case "createDeclaration":
					w.errDeclare++
				case "createPayment":
					w.declare = append(w.declare, t.Declare)
					w.errPay++
				default:
					w.declare, w.pay = append(w.declare, t.Declare), append(w.pay, t.Pay)
					w.err3++
				}
				if err != nil {
					if w.firstErr == "" {
						w.firstErr = failed + ": " + trimErr(err)
					}
					w.p = nil // a half-done month stays claimed; start afresh
				}
			}
		}(w)
	}
	wg.Wait()
	wall := time.Since(start)
	var setup time.Duration
	var declare, pay, settle []time.Duration
	lines := []resultLine{{Name: "createDeclaration"}, {Name: "createPayment"}, {Name: "notify (settle)"}}
	first := ""
	for _, w := range ws {
		setup += w.setup
		declare, pay, settle = append(declare, w.declare...), append(pay, w.pay...), append(settle, w.settle...)
		lines[0].Errors += w.errDeclare
		lines[1].Errors += w.errPay
		lines[2].Errors += w.err3
		if first == "" {
			first = w.firstErr
		}
	}
	// The steps ran for the wall time less the share spent making people.
	busy := wall - setup/time.Duration(n)
	for i, lat := range [][]time.Duration{declare, pay, settle} {
		lines[i].Requests = uint64(len(lat)) + lines[i].Errors
		lines[i].RPS = float64(len(lat)) / busy.Seconds()
		lines[i].P50, lines[i].P99 = quantile(lat, 0.50), quantile(lat, 0.99)
	}
	lines[0].FirstError = first
	var chains []time.Duration
	for _, w := range ws {
		chains = append(chains, w.chain...)
	}
	chain := resultLine{Name: "declare+pay+settle", Requests: uint64(len(chains)), RPS: float64(len(chains)) / busy.Seconds(),
		P50: quantile(chains, 0.50), P99: quantile(chains, 0.99)}
	return append(lines, chain), nil
}

// quantile of samples (latencies, make bench's multiples), by sorting
// them (nearest rank).
func quantile[T cmp.Ordered](d []T, q float64) T {
	if len(d) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// certRate is issue 13's certificate target: the rate at which
// issueCertificate's latency is measured (open loop), after its closed-loop
// throughput.
const certRate = 150

// certificates reports issueCertificate twice. Closed loop, as the other
// endpoints: PDFs per second with o.Conns connections always waiting, where
// p50 is about o.Conns ÷ rps by construction. Then open loop at certRate a
// second, the deadline-day load the target names, where p99 is the
// latency a person sees. Each half issues for people of its own (made by
// seedCertPeople), because the server allows 30 certificates per user an
// hour.
func (b *bench) certificates(ctx context.Context) ([]resultLine, error) {
	ps := b.pop.CertPeople
	if len(ps) < 2 {
		ps = b.pop.People
	}
	half := len(ps) / 2
	reqsOf := func(ps []*person) []request {
		var reqs []request
		for _, p := range ps {
			reqs = append(reqs, request{method: "POST", path: "/api/v1/certificates", p: p,
				body: jsonBody(map[string]string{"kind": "payment_voucher", "order_no": p.Orders[0]})})
		}
		return reqs
	}
	closed := b.attack(ctx, "issueCertificate", reqsOf(ps[:half]))
	open := b.attackAt(ctx, fmt.Sprintf("issueCertificate @%d/s", certRate), reqsOf(ps[half:]), certRate)
	return []resultLine{closed, open}, ctx.Err()
}

// certPeopleFor is how many people the certificate cases need: each may
// issue 30 an hour, and each half of a run of d issues at most about
// certCeiling × d seconds.
func certPeopleFor(d time.Duration) int {
	return 2 * int(math.Ceil(d.Seconds()*certCeiling/30))
}

// certCeiling is more certificates a second than 2 cores have rendered
// (about 250 closed loop on an idle machine on 2026-11-30, 600 a day
// later, when 600 was the ceiling and the run ended in 429s).
const certCeiling = 1200
