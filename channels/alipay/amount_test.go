package alipay

import (
	"testing"

	"github.com/lianban/lianban/models"
)

func TestYuanStringsFromAlipayBecomeExactFen(t *testing.T) {
	tests := []struct {
		in      string
		want    models.Fen
		wantErr bool
	}{
		{in: "0.01", want: 1},
		{in: "380", want: 38000},
		{in: "380.5", want: 38050},
		{in: "380.00", want: 38000},
		{in: "19.90", want: 1990}, // the float trap: 19.90*100 truncates to 1989
		{in: "0.30", want: 30},
		{in: "100000000.00", want: 10_000_000_000},
		{in: "1,000.00", wantErr: true}, // grouping commas are not Alipay's format
		{in: "-1", wantErr: true},       // payments are never negative
		{in: "0.001", wantErr: true},    // below the fen
		{in: "", wantErr: true},
		{in: ".5", wantErr: true},
		{in: "380.", wantErr: true},
		{in: " 380.00", wantErr: true},
		{in: "1e3", wantErr: true},
		{in: "３８０", wantErr: true}, // full-width digits
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := yuanToFen(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("yuanToFen(%q) = %d, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("yuanToFen(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFenBecomesTheYuanStringAlipayExpects(t *testing.T) {
	tests := []struct {
		in   models.Fen
		want string
	}{
		{1, "0.01"}, {38000, "380.00"}, {38050, "380.50"}, {1990, "19.90"}, {0, "0.00"}, {10_000_000_000, "100000000.00"},
	}
	for _, tt := range tests {
		if got := tt.in.Yuan(); got != tt.want {
			t.Errorf("Fen(%d).Yuan() = %q, want %q", tt.in, got, tt.want)
		}
		back, err := yuanToFen(tt.in.Yuan())
		if err != nil || back != tt.in {
			t.Errorf("round trip of %d gave %d, %v", tt.in, back, err)
		}
	}
}

func TestBillAmountsMayCarryAMinusForRefunds(t *testing.T) {
	tests := []struct {
		in      string
		want    models.Fen
		wantErr bool
	}{
		{in: "-380.00", want: -38000},
		{in: "-0.01", want: -1},
		{in: "380.00", want: 38000},
		{in: "--1", wantErr: true},
		{in: "-", wantErr: true},
		{in: "-1,000.00", wantErr: true},
	}
	for _, tt := range tests {
		got, err := signedYuanToFen(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("signedYuanToFen(%q) = %d, %v; want %d (error %t)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
