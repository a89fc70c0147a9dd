package wechatfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Special login codes, for the error paths a test wants to reach.
const (
	CodeInvalid = "invalid" // errcode 40029 invalid code
	CodeUsed    = "used"    // errcode 40163 code been used
	CodeBlocked = "blocked" // errcode 40226 high-risk user
	CodeBusy    = "busy"    // errcode -1 system busy
)

// tokenLifetime is what stable_token reports as expires_in; the client's
// cache TTL is derived from it, so it must be WeChat's real 7200.
const tokenLifetime = 7200 * time.Second

// AddUser makes code log in as openid (and unionid, which may be empty).
// Codes not added log in as an openid derived from the code, so the same
// code is always the same user.
func (s *Server) AddUser(code, openid, unionid string) {
	s.mu.Lock()
	s.users[code] = user{openID: openid, unionID: unionid}
	s.mu.Unlock()
}

// OpenID is the openid code logs in as.
func (s *Server) OpenID(code string) string { return s.userFor(code).openID }

func (s *Server) userFor(code string) user {
	s.mu.Lock()
	u, ok := s.users[code]
	s.mu.Unlock()
	if ok {
		return u
	}
	// Shaped like real ids: 28 characters, the openid starting with "o".
	h := sha256.Sum256([]byte(s.appID + "\x00" + code))
	id := base64.RawURLEncoding.EncodeToString(h[:])
	return user{openID: "o" + id[:27], unionID: "u" + id[16:43]}
}

// AddPhone makes a getPhoneNumber code resolve to phone (mainland, without
// +86). Other codes resolve to a number derived from the code.
func (s *Server) AddPhone(code, phone string) {
	s.mu.Lock()
	s.phones[code] = phone
	s.mu.Unlock()
}

// RefuseMessages makes subscribe messages to openid fail with 43101, as for
// a user who has not accepted the template.
func (s *Server) RefuseMessages(openid string) {
	s.mu.Lock()
	s.refusing[openid] = true
	s.mu.Unlock()
}

// SentMessage is a subscribe message the fake accepted.
type SentMessage struct {
	ToUser           string
	TemplateID       string
	Page             string
	MiniprogramState string
	Data             map[string]string
}

// SentMessages returns the subscribe messages sent so far, oldest first.
func (s *Server) SentMessages() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// TokenRequests counts stable_token calls: a cached token means no new ones.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// RevokeAccessTokens invalidates the current access token: the next call
// with it gets 40001, as after a forced refresh elsewhere.
func (s *Server) RevokeAccessTokens() {
	s.mu.Lock()
	s.token = ""
	s.mu.Unlock()
}

func (s *Server) jscode2session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("appid") != s.appID:
		wxError(w, 40013, "invalid appid")
		return
	case q.Get("secret") != s.secret:
		wxError(w, 40125, "invalid appsecret")
		return
	case q.Get("grant_type") != "authorization_code":
		wxError(w, 40002, "invalid grant_type")
		return
	}
	switch code := q.Get("js_code"); code {
	case "", CodeInvalid:
		wxError(w, 40029, "invalid code")
	case CodeUsed:
		wxError(w, 40163, "code been used")
	case CodeBlocked:
		wxError(w, 40226, "invalid user")
	case CodeBusy:
		wxError(w, -1, "system error")
	default:
		u := s.userFor(code)
		s.mu.Lock()
		s.openIDApp[u.openID] = s.appID
		s.mu.Unlock()
		out := map[string]any{"openid": u.openID, "session_key": base64.StdEncoding.EncodeToString(randBytes(16))}
		if u.unionID != "" {
			out["unionid"] = u.unionID
		}
		wxJSON(w, out)
	}
}

func (s *Server) stableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		wxError(w, 47001, "data format error")
		return
	}
	switch {
	case req.GrantType != "client_credential":
		wxError(w, 40002, "invalid grant_type")
		return
	case req.AppID != s.appID:
		wxError(w, 40013, "invalid appid")
		return
	case req.Secret != s.secret:
		wxError(w, 40125, "invalid appsecret")
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	s.tokenRequests++
	// Like WeChat's stable token: the same token until it expires or a
	// forced refresh replaces it.
	if s.token == "" || !now.Before(s.tokenUntil) || req.ForceRefresh {
		s.token, s.tokenUntil = "ACCESS_TOKEN_"+randAlnum(48), now.Add(tokenLifetime)
	}
	tok, left := s.token, s.tokenUntil.Sub(now)
	s.mu.Unlock()
	wxJSON(w, map[string]any{"access_token": tok, "expires_in": int64(left / time.Second)})
}

// checkToken answers 40001 and returns false unless r carries the current
// access token.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request) bool {
	tok := r.URL.Query().Get("access_token")
	s.mu.Lock()
	ok := tok != "" && tok == s.token && s.clock.Now().Before(s.tokenUntil)
	s.mu.Unlock()
	if !ok {
		wxError(w, 40001, "invalid credential, access_token is invalid or not latest")
	}
	return ok
}

func (s *Server) phoneNumber(w http.ResponseWriter, r *http.Request) {
	if !s.checkToken(w, r) {
		return
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		wxError(w, 47001, "data format error")
		return
	}
	if req.Code == "" || req.Code == CodeInvalid {
		wxError(w, 40029, "invalid code")
		return
	}
	s.mu.Lock()
	phone, ok := s.phones[req.Code]
	s.mu.Unlock()
	if !ok {
		h := sha256.Sum256([]byte(req.Code))
		phone = "138"
		for _, b := range h[:8] {
			phone += fmt.Sprint(b % 10)
		}
	}
	wxJSON(w, map[string]any{
		"errcode": 0, "errmsg": "ok",
		"phone_info": map[string]any{
			"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
			"watermark": map[string]any{"timestamp": s.clock.Now().Unix(), "appid": s.appID},
		},
	})
}

func (s *Server) subscribeSend(w http.ResponseWriter, r *http.Request) {
	if !s.checkToken(w, r) {
		return
	}
	var req struct {
		ToUser           string `json:"touser"`
		TemplateID       string `json:"template_id"`
		Page             string `json:"page"`
		MiniprogramState string `json:"miniprogram_state"`
		Data             map[string]struct {
			Value any `json:"value"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		wxError(w, 47001, "data format error")
		return
	}
	if req.ToUser == "" {
		wxError(w, 40003, "invalid openid")
		return
	}
	if req.TemplateID == "" {
		wxError(w, 40037, "invalid template_id")
		return
	}
	msg := SentMessage{ToUser: req.ToUser, TemplateID: req.TemplateID, Page: req.Page,
		MiniprogramState: req.MiniprogramState, Data: map[string]string{}}
	for k, v := range req.Data {
		msg.Data[k] = fmt.Sprint(v.Value)
	}
	s.mu.Lock()
	refused := s.refusing[req.ToUser]
	if !refused {
		s.sent = append(s.sent, msg)
	}
	s.mu.Unlock()
	if refused {
		wxError(w, 43101, "user refuse to accept the msg")
		return
	}
	wxJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": int64(len(req.ToUser)) + s.clock.Now().UnixNano()%1e9})
}

// wxJSON writes a mini-program API answer: always HTTP 200, errors as
// errcode in the body.
func wxJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func wxError(w http.ResponseWriter, code int, msg string) {
	wxJSON(w, map[string]any{"errcode": code, "errmsg": msg + " rid: " + randHex(8)})
}
