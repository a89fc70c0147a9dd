package alipayfake

import (
	"net/http"
	"net/url"

	"github.com/lianban/lianban/channels/alipay"
)

// H5Redirect is the H5 page a ClientConfig lets the web authorization
// send people back to. It names no real host; a caller serving a real
// page sets its own.
const H5Redirect = "https://h5.lianban.invalid/h5/"

// publicAppAuthorize is Alipay's web authorization page
// (openauth.alipay.com/oauth2/publicAppAuthorize.htm) as a person inside
// the Alipay app meets it with scope auth_base: silent, straight back to
// redirect_uri with a fresh auth_code and the state untouched, plus the
// app_id, scope and source Alipay adds. The code logs in as a user of its
// own (UserIDFor), or as AddUser says once it is known. A wrong app_id,
// scope or redirect_uri is Alipay's error page, here a 400.
func (s *Server) publicAppAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("app_id") != s.appID:
		http.Error(w, "app_id 参数错误", http.StatusBadRequest)
		return
	case q.Get("scope") != alipay.ScopeBase && q.Get("scope") != "auth_user":
		http.Error(w, "scope 参数错误", http.StatusBadRequest)
		return
	case err != nil || !back.IsAbs() || (back.Scheme != "http" && back.Scheme != "https"):
		http.Error(w, "redirect_uri 参数错误", http.StatusBadRequest)
		return
	}
	bq := back.Query()
	bq.Set("app_id", s.appID)
	bq.Set("source", "alipay_wallet")
	bq.Set("scope", q.Get("scope"))
	bq.Set("auth_code", s.randomHex(16))
	if st := q.Get("state"); st != "" {
		bq.Set("state", st)
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}
