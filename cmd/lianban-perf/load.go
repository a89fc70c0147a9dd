package main

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// load is one run of one endpoint: reqs sent round-robin from Conns
// connections for Duration, either closed loop (Rate 0: each connection
// sends its next request as soon as the last is answered, as wrk does) or
// open loop at Rate requests a second.
//
// The client is fasthttp's (the engine bombardier uses), not vegeta's: the
// load generator shares the machine's cores with the server, and vegeta
// spent several times wrk's CPU per request (net/http's client, a result
// per hit through channels), so under it the server got about half of the
// machine. Every request is built once, before the clock starts; a worker
// only copies a prepared request and times the answer.
type load struct {
	Base, Name string
	Reqs       []request
	Conns      int
	Duration   time.Duration
	Rate       int
}

// run drives the load and returns its line of figures.
//
// Open loop, a request's latency runs from the moment it was due, not from
// when a connection was free to send it: when every connection is busy
// the requests that fall due wait, and that wait is what a person arriving
// then would see (timing from the send would hide it — "coordinated
// omission").
func (l load) run(ctx context.Context) (resultLine, error) {
	u, err := url.Parse(l.Base)
	if err != nil {
		return resultLine{}, err
	}
	hc := &fasthttp.HostClient{
		Addr:                          u.Host,
		MaxConns:                      l.Conns,
		ReadTimeout:                   30 * time.Second,
		WriteTimeout:                  30 * time.Second,
		MaxIdleConnDuration:           time.Minute,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
	}
	defer hc.CloseIdleConnections()
	prepared := make([]*fasthttp.Request, len(l.Reqs))
	for i, r := range l.Reqs {
		q := &fasthttp.Request{}
		q.Header.SetMethod(r.method)
		q.SetRequestURI(l.Base + r.path)
		if r.body != nil {
			q.Header.SetContentType("application/json")
			q.SetBody(r.body)
		}
		if r.p != nil {
			q.Header.Set("Authorization", "Bearer "+r.p.Token)
			q.Header.Set("X-Forwarded-For", r.p.IP)
		}
		prepared[i] = q
	}
	type tally struct {
		lat      []time.Duration
		errors   uint64
		firstErr string
	}
	tallies := make([]tally, l.Conns)
	var next atomic.Uint64
	start := time.Now()
	deadline := start.Add(l.Duration)
	var due chan time.Time // open loop: when each request falls due
	if l.Rate > 0 {
		due = make(chan time.Time, l.Rate*int(l.Duration/time.Second+1))
		go pace(ctx, due, start, deadline, l.Rate)
	}
	var wg sync.WaitGroup
	for w := range tallies {
		wg.Add(1)
		go func(t *tally) {
			defer wg.Done()
			t.lat = make([]time.Duration, 0, 1<<14)
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil {
				var t0 time.Time
				if due != nil {
					var ok bool
					if t0, ok = <-due; !ok {
						return
					}
				} else if t0 = time.Now(); !t0.Before(deadline) {
					return
				}
				prepared[(next.Add(1)-1)%uint64(len(prepared))].CopyTo(req)
				err := hc.DoTimeout(req, resp, 30*time.Second)
				t.lat = append(t.lat, time.Since(t0))
				if code := resp.StatusCode(); err != nil || code/100 != 2 {
					t.errors++
					if t.firstErr == "" {
						t.firstErr = fmt.Sprintf("%d %v %.120s", code, err, resp.Body())
					}
				}
				resp.Reset()
			}
		}(&tallies[w])
	}
	wg.Wait()
	wall := time.Since(start)
	line := resultLine{Name: l.Name}
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.lat...)
		line.Errors += t.errors
		if line.FirstError == "" {
			line.FirstError = t.firstErr
		}
	}
	line.Requests = uint64(len(all))
	line.RPS = float64(line.Requests-line.Errors) / wall.Seconds()
	line.P50, line.P99 = quantile(all, 0.50), quantile(all, 0.99)
	return line, ctx.Err()
}

// pace puts the due time of each request of an open-loop run on due, rate
// a second from start until deadline, then closes it. It sleeps until the
// next request is due; when it wakes late it sends every request due by
// then at once, each with its own due time.
func pace(ctx context.Context, due chan<- time.Time, start, deadline time.Time, rate int) {
	defer close(due)
	every := time.Second / time.Duration(rate)
	for i := 0; ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * every)
		if !at.Before(deadline) {
			return
		}
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		due <- at
	}
}
