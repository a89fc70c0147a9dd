package wechatfake

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
)

// Special web OAuth codes, for the error paths a test wants to reach.
// Every other code logs in once: a second exchange is 40163, as at WeChat.
const (
	OACodeSnapshot = "snapshot" // a 朋友圈 snapshot-page visitor (is_snapshotuser=1)
)

// AddOAUser makes the web OAuth code log in as openid (and unionid, which
// may be empty) of the official account. Codes not added log in as an
// openid derived from the official account's appid and the code: the same
// code is the same user, and a different one from the mini-program's.
func (s *Server) AddOAUser(code, openid, unionid string) {
	s.mu.Lock()
	s.oaUsers[code] = user{openID: openid, unionID: unionid}
	s.mu.Unlock()
}

// OAOpenID is the official-account openid code logs in as.
func (s *Server) OAOpenID(code string) string { return s.oaUserFor(code).openID }

func (s *Server) oaUserFor(code string) user {
	s.mu.Lock()
	u, ok := s.oaUsers[code]
	s.mu.Unlock()
	if ok {
		return u
	}
	h := sha256.Sum256([]byte(s.oaAppID + "\x00" + code))
	id := base64.RawURLEncoding.EncodeToString(h[:])
	return user{openID: "o" + id[:27]}
}

// oauthAccessToken is /sns/oauth2/access_token: the official account's web
// OAuth code for the user's openid and a user access token. Errors come as
// errcode with HTTP 200, as WeChat sends them.
func (s *Server) oauthAccessToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("appid") != s.oaAppID:
		wxError(w, 40013, "invalid appid")
		return
	case q.Get("secret") != s.oaSecret:
		wxError(w, 40125, "invalid appsecret")
		return
	case q.Get("grant_type") != "authorization_code":
		wxError(w, 40002, "invalid grant_type")
		return
	}
	code := q.Get("code")
	switch code {
	case "", CodeInvalid:
		wxError(w, 40029, "invalid code")
		return
	case CodeBusy:
		wxError(w, -1, "system error")
		return
	}
	s.mu.Lock()
	used := s.oaUsed[code]
	s.oaUsed[code] = true
	s.mu.Unlock()
	if used {
		wxError(w, 40163, "code been used")
		return
	}
	u := s.oaUserFor(code)
	s.mu.Lock()
	s.openIDApp[u.openID] = s.oaAppID
	s.mu.Unlock()
	out := map[string]any{
		"access_token":  "OAUTH_" + randAlnum(48),
		"expires_in":    7200,
		"refresh_token": "REFRESH_" + randAlnum(48),
		"openid":        u.openID,
		"scope":         "snsapi_base",
	}
	if u.unionID != "" {
		out["unionid"] = u.unionID
	}
	if code == OACodeSnapshot {
		out["is_snapshotuser"] = 1
	}
	wxJSON(w, out)
}

// oauthAuthorize is the authorize page of web OAuth
// (open.weixin.qq.com/connect/oauth2/authorize) as a person inside WeChat
// meets it with scope snsapi_base: silent, straight back to redirect_uri
// with a fresh code and the state untouched. The code logs in as an
// openid of its own (see oaUserFor). A wrong appid or scope is WeChat's
// error page, here a 400.
func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("appid") != s.oaAppID:
		http.Error(w, "appid 参数错误", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || q.Get("scope") != "snsapi_base":
		http.Error(w, "scope 参数错误或没有 scope 权限", http.StatusBadRequest)
		return
	case err != nil || !back.IsAbs() || (back.Scheme != "http" && back.Scheme != "https"):
		http.Error(w, "redirect_uri 参数错误", http.StatusBadRequest)
		return
	}
	bq := back.Query()
	bq.Set("code", "oa-"+randAlnum(24))
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}
