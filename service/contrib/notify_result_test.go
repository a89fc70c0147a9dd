package contrib_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
)

// TestStrangersNotificationsAreRejectedNotFailed: an unsigned or
// unparsable body on any channel gets the provider's failure answer and
// is reported as NotificationRejected (the caller's mistake, logged at
// WARN), not as NotificationRetry (ours) or an error.
func TestStrangersNotificationsAreRejectedNotFailed(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{Wechat: true, Alipay: true, NotifyRetry: []time.Duration{}})
	for _, ch := range []string{models.ChannelWechat, models.ChannelAlipay, models.ChannelSandbox} {
		for _, body := range []string{"", "{", `{"id":"EV-1","resource":{}}`, "out_trade_no=LB1&sign=forged", "\x00\xff"} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/api/v1/notify/"+ch, strings.NewReader(body))
			res, err := env.Svc.ProcessNotification(context.Background(), ch, w, r)
			if err != nil || res != contrib.NotificationRejected {
				t.Errorf("%s %q: %q, %v; want rejected", ch, body, res, err)
			}
			if w.Code != http.StatusInternalServerError {
				t.Errorf("%s %q: answered %d, want the provider's failure answer (500)", ch, body, w.Code)
			}
		}
	}
	w := httptest.NewRecorder()
	if _, err := env.Svc.ProcessNotification(context.Background(), "nope", w, httptest.NewRequest(http.MethodPost, "/", nil)); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unconfigured channel: %v", err)
	}
}
