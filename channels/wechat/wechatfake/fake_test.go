package wechatfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPayAPIRefusesUnsignedRequests(t *testing.T) {
	s := New(Options{NotifyRetry: []time.Duration{}})
	t.Cleanup(s.Close)
	for _, tc := range []struct{ name, auth string }{
		{"no Authorization", ""},
		{"another scheme", "Bearer x"},
		{"a wrong signature", `WECHATPAY2-SHA256-RSA2048 mchid="` + s.MchID() + `",nonce_str="n",timestamp="` +
			strconv.FormatInt(time.Now().Unix(), 10) + `",serial_no="` + s.Keys().MchSerial + `",signature="AAAA"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v3/pay/transactions/out-trade-no/X?mchid="+s.MchID(), nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, r)
			var body struct{ Code string }
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != http.StatusUnauthorized || body.Code != "SIGN_ERROR" {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if w.Header().Get("Wechatpay-Signature") == "" || w.Header().Get("Wechatpay-Serial") != s.Keys().PubKeyID {
				t.Fatalf("error answer not signed: %v", w.Header())
			}
		})
	}
}

func TestStableTokenReportsWeChatsExpiry(t *testing.T) {
	s := New(Options{NotifyRetry: []time.Duration{}})
	t.Cleanup(s.Close)
	body := `{"grant_type":"client_credential","appid":"` + s.AppID() + `","secret":"` + s.Secret() + `"}`
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/cgi-bin/stable_token", strings.NewReader(body)))
	var res struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.AccessToken == "" || res.ExpiresIn < 7190 {
		t.Fatalf("%s (%v)", w.Body, err)
	}
}

func TestClientConfigBeforeStartDoesNotPointAtWeChat(t *testing.T) {
	s := New(Options{Keys: mustKeys(t)})
	cfg := s.ClientConfig("https://x.example/notify")
	if !strings.HasSuffix(cfg.PayAPIBase, ".invalid") || !strings.HasSuffix(cfg.APIBase, ".invalid") {
		t.Fatalf("bases %s, %s", cfg.APIBase, cfg.PayAPIBase)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func mustKeys(t *testing.T) *Keys {
	t.Helper()
	k, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
