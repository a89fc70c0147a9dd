package models

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCanonicalRebuildsWhatWasSigned(t *testing.T) {
	voucher := sampleProof()
	voucher.Kind, voucher.No = CertPaymentVoucher, "LBV20260115000000000002"
	voucher.OrderNo, voucher.PayerMasked = "O1", "王*"
	voucher.ReissueOf = "LBV20260101000000000009"
	for name, c := range map[string]Certificate{"proof": sampleProof(), "voucher": voucher} {
		got, err := ParseCanonical(c.Canonical())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: ParseCanonical gave\n%+v\nwant\n%+v", name, got, c)
		}
	}
}

func TestParseCanonicalRefusesAnythingButTheExactCanonicalBytes(t *testing.T) {
	b := sampleProof().Canonical()
	cases := map[string][]byte{
		"a space added":         bytes.Replace(b, []byte(`,"format"`), []byte(`, "format"`), 1),
		"keys reordered":        bytes.Replace(b, []byte(`{"authority":"内蒙古自治区社会保险事业服务中心","format":"lianban.certificate.v1",`), []byte(`{"format":"lianban.certificate.v1","authority":"内蒙古自治区社会保险事业服务中心",`), 1),
		"an unknown field":      bytes.Replace(b, []byte(`{"authority"`), []byte(`{"a":1,"authority"`), 1),
		"another format":        bytes.Replace(b, []byte(`lianban.certificate.v1`), []byte(`lianban.certificate.v2`), 1),
		"a time with an offset": bytes.Replace(b, []byte(`"2026-01-15T02:30:00Z"`), []byte(`"2026-01-15T10:30:00+08:00"`), 1),
		"a broken time":         bytes.Replace(b, []byte(`"2026-01-15T02:30:00Z"`), []byte(`"yesterday"`), 1),
		"a rune escaped":        bytes.Replace(b, []byte(`"内蒙古`), []byte(`"\u5185蒙古`), 1),
		"truncated":             b[:len(b)-1],
		"trailing newline":      append(append([]byte{}, b...), '\n'),
		"empty":                 nil,
	}
	for name, in := range cases {
		if _, err := ParseCanonical(in); err == nil {
			t.Errorf("%s: ParseCanonical accepted %s", name, in)
		}
	}
}

func TestCreditExpectedBySkipsWeekends(t *testing.T) {
	cases := []struct {
		paid time.Time
		want string
	}{
		// Friday 2026-11-20 10:00 Beijing → the following Friday.
		{time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC), "2026-11-27"},
		// Saturday → Monday to Friday of the next week.
		{time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC), "2026-11-27"},
		// Monday 23:30 Beijing is still Monday there (15:30 UTC).
		{time.Date(2026, 11, 23, 15, 30, 0, 0, time.UTC), "2026-11-30"},
		// 2026-11-23 17:00 UTC is Tuesday 01:00 in Beijing.
		{time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC), "2026-12-01"},
	}
	for _, c := range cases {
		if got := CreditExpectedBy(c.paid).Format("2006-01-02"); got != c.want {
			t.Errorf("CreditExpectedBy(%s) = %s, want %s", c.paid, got, c.want)
		}
	}
}

func TestNotCreditedReasonNamesTheMonthAndWhenToComeBack(t *testing.T) {
	r := NotCreditedReason("202612", time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC))
	for _, want := range []string{"2026年12月", "2026年11月20日缴纳", "尚未入库", "3至5个工作日", "预计2026年11月27日前", "入库后即可开具税收完税证明"} {
		if !strings.Contains(r, want) {
			t.Errorf("reason %q lacks %q", r, want)
		}
	}
}

func TestErrCertificateRevokedIsAConflict(t *testing.T) {
	if ErrCertificateRevoked.Kind != KindConflict || ErrCertificateRevoked.Code != "CERTIFICATE_REVOKED" {
		t.Errorf("%+v", ErrCertificateRevoked)
	}
}
