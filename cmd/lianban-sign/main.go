// Command lianban-sign sends one signed request to the counter API
// (/partner/v1) as a partner terminal would, so the README's walk-through
// is copy and paste:
//
//	go run ./cmd/lianban-sign [-partner ID] [-key KEY] [-method HMAC-SM3] METHOD URL [BODY|@file]
//
// The partner and key default to LIANBAN_PARTNER_ID and
// LIANBAN_PARTNER_KEY, else to the sandbox bank's (sandbox-bank,
// sandbox-partner-key). BODY is sent as given; @file sends a file's bytes
// (@- reads standard input). The response body goes to standard output;
// on an HTTP status of 400 or more it goes to standard error and the
// command exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lianban/lianban/channels/partner"
)

// The sandbox bank of API.md, the defaults when nothing else is set.
const (
	sandboxPartnerID  = "sandbox-bank"
	sandboxPartnerKey = "sandbox-partner-key"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its world passed in, for the tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lianban-sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("partner", firstOf(getenv("LIANBAN_PARTNER_ID"), sandboxPartnerID), "partner id (X-Partner-Id); env LIANBAN_PARTNER_ID")
	key := fs.String("key", firstOf(getenv("LIANBAN_PARTNER_KEY"), sandboxPartnerKey), "the partner's signing key; env LIANBAN_PARTNER_KEY")
	ctype := fs.String("type", "", "Content-Type of the body (default: application/json, or text/csv for a .csv file)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the answer")
	sigMethod := fs.String("method", "", "signature method: empty for HMAC-SHA256, or HMAC-SM3 (servers with LIANBAN_CRYPTO=sm)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lianban-sign [-partner ID] [-key KEY] [-type CONTENT-TYPE] [-method HMAC-SM3] METHOD URL [BODY|@file|@-]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fs.Usage()
		return 2
	}
	method, url := strings.ToUpper(fs.Arg(0)), fs.Arg(1)
	var body []byte
	ct := *ctype
	if fs.NArg() == 3 {
		arg := fs.Arg(2)
		switch {
		case arg == "@-":
			b, err := io.ReadAll(stdin)
			if err != nil {
				fmt.Fprintln(stderr, "lianban-sign: read standard input:", err)
				return 2
			}
			body = b
		case strings.HasPrefix(arg, "@"):
			b, err := os.ReadFile(arg[1:])
			if err != nil {
				fmt.Fprintln(stderr, "lianban-sign:", err)
				return 2
			}
			body = b
			if ct == "" && strings.EqualFold(filepath.Ext(arg), ".csv") {
				ct = "text/csv"
			}
		default:
			body = []byte(arg)
		}
		if ct == "" {
			ct = "application/json"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cl := &partner.Client{PartnerID: *id, Key: []byte(*key), Method: *sigMethod}
	resp, err := cl.DoContent(ctx, method, url, ct, body)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintln(stderr, "lianban-sign: no answer within", *timeout)
		} else {
			fmt.Fprintln(stderr, "lianban-sign:", err)
		}
		return 1
	}
	out := stdout
	if resp.Status >= 400 {
		out = stderr
		fmt.Fprintf(stderr, "HTTP %d\n", resp.Status)
	}
	_, _ = out.Write(resp.Body)
	if len(resp.Body) > 0 && resp.Body[len(resp.Body)-1] != '\n' {
		_, _ = io.WriteString(out, "\n")
	}
	if resp.Status >= 400 {
		return 1
	}
	return 0
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
