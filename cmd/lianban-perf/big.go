package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"time"

	"github.com/lianban/lianban/store"
)

// seedBig makes one more person through the API, pays one month, and then
// gives them rows-1 more records and rows-1 more payments written straight
// into the database through the store package: the API would need
// rows × (declare + pay + settle) requests and months that do not exist.
// The extra rows are copies of the real record and order with synthetic
// months (years 1000 onwards, so they never meet a real month) and order
// numbers; they are already booked, so the background workers leave them
// alone while the load runs.
func seedBig(ctx context.Context, c *client, dbURL string, rows int) (*person, error) {
	r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))
	p, err := c.newPerson(ctx, r)
	if err != nil {
		return nil, err
	}
	if _, step, err := c.payMonth(ctx, p); err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	g := db.Gorm.WithContext(ctx)
	var order store.OrderRow
	if err := g.Where("order_no = ?", p.Orders[0]).Take(&order).Error; err != nil {
		return nil, fmt.Errorf("the paid order: %w", err)
	}
	var rec store.RecordRow
	if err := g.Where("order_no = ?", order.OrderNo).Take(&rec).Error; err != nil {
		return nil, fmt.Errorf("the paid record: %w", err)
	}
	if rec.PayerMasked == nil {
		return nil, fmt.Errorf("the paid record %s carries no payer_masked: settlement should have written it", rec.ID)
	}
	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	now := time.Now().UTC()
	recs := make([]store.RecordRow, 0, rows-1)
	orders := make([]store.OrderRow, 0, rows-1)
	for i := 1; i < rows; i++ {
		rr := rec // with its payer_masked, as settlement writes it
		rr.ID = fmt.Sprintf("perf%s%06d", hex.EncodeToString(tag), i)
		rr.Period = fmt.Sprintf("%04d%02d", 1000+i/12, i%12+1)
		rr.PeriodTo = ""
		rr.Status, rr.CreditedAt, rr.BookedAt = "booked", &now, &now
		recs = append(recs, rr)
		o := order
		o.OrderNo = fmt.Sprintf("PF%s%06d", hex.EncodeToString(tag), i)
		o.NextQueryAt = nil
		orders = append(orders, o)
	}
	if err := g.CreateInBatches(recs, 500).Error; err != nil {
		return nil, fmt.Errorf("insert records: %w", err)
	}
	if err := g.CreateInBatches(orders, 500).Error; err != nil {
		return nil, fmt.Errorf("insert orders: %w", err)
	}
	return p, nil
}

// middleToken walks p's list at path (pageSize rows a page, rows in all)
// to its middle and returns the token of the page that starts there.
func middleToken(ctx context.Context, c *client, p *person, path string, pageSize, rows int) (string, error) {
	tok := ""
	for i := 0; i < rows/pageSize/2; i++ {
		var page struct {
			NextPageToken string `json:"next_page_token"`
		}
		u := path
		if tok != "" {
			u += "&page_token=" + url.QueryEscape(tok)
		}
		if err := c.call(ctx, p, "GET", u, nil, &page); err != nil {
			return "", err
		}
		if page.NextPageToken == "" {
			break
		}
		tok = page.NextPageToken
	}
	return tok, nil
}
