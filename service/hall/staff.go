package hall

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/argon2"
	"gorm.io/gorm"
)

// Hall staff accounts: username + password (argon2id) + TOTP, a lockout
// after repeated failures, and short sliding sessions in Redis under a key
// prefix of their own, so a citizen's token never opens a staff endpoint
// and a staff token never opens a citizen's.
const (
	staffSessionIdle   = 30 * time.Minute // sliding: a session unused this long ends
	staffSessionMax    = 12 * time.Hour   // a session ends this long after login however busy
	staffLockThreshold = 5                // failures within staffLockWindow lock the account
	staffLockWindow    = 15 * time.Minute
	staffLockFor       = 15 * time.Minute
	staffTokenPrefix   = "stf_"
	totpPeriod         = 30
	totpIssuer         = "lianban 联办"
)

// Staff account statuses.
const (
	StaffActive   = "active"
	StaffDisabled = "disabled"
)

// argon2id parameters: OWASP's second recommended set (19 MiB, 2 passes,
// 1 lane), about 25 ms per hash here.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// StaffAccount is the view of a staff account.
type StaffAccount struct {
	StaffID     string           `json:"staff_id"`
	Username    string           `json:"username"`
	Role        models.StaffRole `json:"role"`
	RoleName    string           `json:"role_name"`
	Department  string           `json:"department,omitempty"`
	Status      string           `json:"status"`
	Locked      bool             `json:"locked"`
	LockedUntil *time.Time       `json:"locked_until,omitempty"`
	LastLoginAt *time.Time       `json:"last_login_at,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	DisabledAt  *time.Time       `json:"disabled_at,omitempty"`
}

// StaffCredentials are a new or reset account's one-time secrets: shown
// once, never stored in clear.
type StaffCredentials struct {
	Account    StaffAccount `json:"account"`
	Password   string       `json:"password"`
	TOTPSecret string       `json:"totp_secret"`
	OTPAuthURL string       `json:"otpauth_url"`
}

// StaffLoginInput is a staff login. Cookie asks for a browser session:
// the token then travels only in an HttpOnly cookie (set by the handler)
// and every request must also carry the session's CSRF token.
type StaffLoginInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
	TOTP     string `json:"totp"`
	Cookie   bool   `json:"cookie"`
}

// StaffLoginResult is a staff session. CSRFToken is set for a cookie
// session only; the handler moves Token into the cookie and leaves it out
// of the body, so the page's script never holds it.
type StaffLoginResult struct {
	Token     string       `json:"token,omitempty"`
	CSRFToken string       `json:"csrf_token,omitempty"`
	ExpiresAt time.Time    `json:"expires_at"`
	Staff     StaffAccount `json:"staff"`
}

// StaffAccountInput creates an account.
type StaffAccountInput struct {
	Username string           `json:"username"`
	Role     models.StaffRole `json:"role"`
}

type staffSession struct {
	StaffID     string           `json:"staff_id"`
	Username    string           `json:"username"`
	Role        models.StaffRole `json:"role"`
	CredVersion int              `json:"cred_version"`
	CreatedAt   time.Time        `json:"created_at"`
	LastSeen    time.Time        `json:"last_seen"`
	// CSRF is a cookie session's anti-forgery token (random, kept with
	// the session); empty for a bearer session. A session is one kind or
	// the other for its whole life.
	CSRF string `json:"csrf,omitempty"`
}

func staffSessionKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return "lb:staff:sess:" + hex.EncodeToString(h[:])
}

// hashPassword returns a PHC-style argon2id string with a fresh salt.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verifyPassword checks pw against an encoded hash in constant time,
// using the parameters the hash was made with.
func verifyPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// burnPasswordCheck spends the time of one verification, so an unknown
// username answers as slowly as a known one.
func burnPasswordCheck(pw string) {
	_ = argon2.IDKey([]byte(pw), []byte("lianban-no-such-user"), argonTime, argonMemory, argonThreads, argonKeyLen)
}

const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

// generatePassword returns 20 characters without look-alikes (about 115
// bits), to be read off a screen once.
func generatePassword() string {
	var b strings.Builder
	for i := 0; i < 20; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
		if err != nil {
			panic(err)
		}
		b.WriteByte(passwordAlphabet[n.Int64()])
	}
	return b.String()
}

// newTOTPKey returns a TOTP key for username: secret (base32) given, or a
// fresh random 160-bit one.
func newTOTPKey(username, secretBase32 string) (*otp.Key, error) {
	opts := totp.GenerateOpts{Issuer: totpIssuer, AccountName: username, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	if secretBase32 != "" {
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secretBase32, "=")))
		if err != nil {
			return nil, fmt.Errorf("totp secret is not base32: %w", err)
		}
		opts.Secret = raw
	}
	return totp.Generate(opts)
}

// checkTOTP accepts the code of the current 30-second step or either
// neighbour (clock drift) and reports the step it matched.
func checkTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	for _, d := range []int64{0, -1, 1} {
		at := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return at.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

func (s *Hall) staffView(r store.StaffAccountRow) StaffAccount {
	v := StaffAccount{StaffID: r.ID, Username: r.Username, Role: models.StaffRole(r.Role), RoleName: models.StaffRole(r.Role).Label(),
		Department: models.StaffRole(r.Role).Department(), Status: r.Status, LastLoginAt: r.LastLoginAt,
		CreatedAt: r.CreatedAt, DisabledAt: r.DisabledAt}
	if r.LockedUntil != nil && r.LockedUntil.After(s.Now()) {
		v.Locked, v.LockedUntil = true, r.LockedUntil
	}
	return v
}

// LoginStaff checks a username, password and TOTP code and starts a staff
// session. It never says which of the three was wrong. Five failures within
// 15 minutes lock the account for 15 minutes; a TOTP code works once.
func (s *Hall) LoginStaff(ctx context.Context, in StaffLoginInput, meta kernel.RequestMeta) (StaffLoginResult, error) {
	now := s.Now()
	username, uerr := models.NormalizeUsername(in.Username)
	shown := username
	if uerr != nil {
		shown = "(invalid username)" // what was typed may be a password in the wrong field: never logged
	}
	actor := kernel.StaffActor{Username: shown, RequestMeta: meta}
	fail := func(detail string, err error) (StaffLoginResult, error) {
		if aerr := s.AuditNow(ctx, actor, kernel.AuditNote{Action: "staff.login", TargetKind: "staff", TargetID: actor.StaffID,
			Outcome: kernel.AuditFailed, Detail: detail}); aerr != nil {
			return StaffLoginResult{}, aerr
		}
		return StaffLoginResult{}, err
	}
	if len(in.Password) > 256 {
		in.Password = in.Password[:256]
	}
	var row store.StaffAccountRow
	err := s.Conn(ctx).Where("username = ?", username).Take(&row).Error
	if uerr != nil || kernel.IsNotFound(err) {
		burnPasswordCheck(in.Password)
		return fail("未知用户名", models.ErrStaffLoginFailed)
	}
	if err != nil {
		return StaffLoginResult{}, kernel.Internal("load staff", err)
	}
	actor.StaffID, actor.Role = row.ID, models.StaffRole(row.Role)
	if row.LockedUntil != nil && row.LockedUntil.After(now) {
		burnPasswordCheck(in.Password)
		return fail("账号锁定中", models.ErrStaffLocked)
	}
	pwOK := verifyPassword(row.PasswordHash, in.Password)
	secret, err := s.PII.Open(row.TOTPSealed)
	if err != nil {
		return StaffLoginResult{}, kernel.Internal("open totp secret", err)
	}
	step, totpOK := checkTOTP(secret, in.TOTP, now)
	if row.Status != StaffActive {
		return fail("账号已停用", models.ErrStaffLoginFailed)
	}
	if !pwOK || !totpOK {
		detail := "密码错误"
		if pwOK {
			detail = "动态口令错误"
		}
		return s.staffLoginFailure(ctx, actor, row.ID, detail)
	}
	// One conditional update takes the TOTP step (a code never works twice),
	// clears the failure count and re-checks that the account is active and
	// unlocked.
	res := s.Conn(ctx).Model(&store.StaffAccountRow{}).
		Where("id = ? AND status = ? AND totp_last_step < ? AND (locked_until IS NULL OR locked_until <= ?)", row.ID, StaffActive, step, now).
		Updates(map[string]any{"totp_last_step": step, "failed_count": 0, "failed_since": nil, "locked_until": nil, "last_login_at": now})
	if res.Error != nil {
		return StaffLoginResult{}, kernel.Internal("staff login", res.Error)
	}
	if res.RowsAffected != 1 {
		return s.staffLoginFailure(ctx, actor, row.ID, "动态口令已使用")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return StaffLoginResult{}, kernel.Internal("token", err)
	}
	token := staffTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	csrf := ""
	if in.Cookie {
		if _, err := rand.Read(raw); err != nil {
			return StaffLoginResult{}, kernel.Internal("csrf token", err)
		}
		csrf = base64.RawURLEncoding.EncodeToString(raw)
	}
	b, _ := json.Marshal(staffSession{StaffID: row.ID, Username: row.Username, Role: models.StaffRole(row.Role),
		CredVersion: row.CredVersion, CreatedAt: now, LastSeen: now, CSRF: csrf})
	if err := s.Redis.Client.Set(ctx, staffSessionKey(token), b, staffSessionIdle).Err(); err != nil {
		return StaffLoginResult{}, models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	if err := s.AuditNow(ctx, actor, kernel.AuditNote{Action: "staff.login", TargetKind: "staff", TargetID: row.ID, Outcome: kernel.AuditOK}); err != nil {
		_ = s.Redis.Client.Del(ctx, staffSessionKey(token)).Err()
		return StaffLoginResult{}, err
	}
	row.LastLoginAt = &now
	return StaffLoginResult{Token: token, CSRFToken: csrf, ExpiresAt: now.Add(staffSessionIdle), Staff: s.staffView(row)}, nil
}

// staffLoginFailure counts a failure and locks the account at the
// threshold. Both steps are single conditional statements, so concurrent
// attempts cannot lose a count. (MySQL applies SET assignments left to
// right; each CASE below reads only failed_since, which the last
// assignment changes.)
func (s *Hall) staffLoginFailure(ctx context.Context, actor kernel.StaffActor, id, detail string) (StaffLoginResult, error) {
	now := s.Now()
	windowStart := now.Add(-staffLockWindow)
	if err := s.Conn(ctx).Exec(`UPDATE staff_accounts SET
		failed_count = CASE WHEN failed_since IS NULL OR failed_since < ? THEN 1 ELSE failed_count + 1 END,
		failed_since = CASE WHEN failed_since IS NULL OR failed_since < ? THEN ? ELSE failed_since END
		WHERE id = ?`, windowStart, windowStart, now, id).Error; err != nil {
		return StaffLoginResult{}, kernel.Internal("count staff failure", err)
	}
	res := s.Conn(ctx).Exec(`UPDATE staff_accounts SET locked_until = ?, failed_count = 0, failed_since = NULL
		WHERE id = ? AND failed_count >= ?`, now.Add(staffLockFor), id, staffLockThreshold)
	if res.Error != nil {
		return StaffLoginResult{}, kernel.Internal("lock staff", res.Error)
	}
	if err := s.AuditNow(ctx, actor, kernel.AuditNote{Action: "staff.login", TargetKind: "staff", TargetID: id, Outcome: kernel.AuditFailed, Detail: detail}); err != nil {
		return StaffLoginResult{}, err
	}
	if res.RowsAffected == 1 {
		if err := s.AuditNow(ctx, actor, kernel.AuditNote{Action: "staff.locked", TargetKind: "staff", TargetID: id, Outcome: kernel.AuditOK,
			Detail: fmt.Sprintf("%d 次失败，锁定 %d 分钟", staffLockThreshold, int(staffLockFor/time.Minute))}); err != nil {
			return StaffLoginResult{}, err
		}
		return StaffLoginResult{}, models.ErrStaffLocked
	}
	return StaffLoginResult{}, models.ErrStaffLoginFailed
}

// AuthenticateStaff resolves a staff bearer token: the session must be
// younger than 12 hours, used within the last 30 minutes, and its account
// still active with the same role and credentials. Each use slides it. A
// cookie session's token is refused here: it was never meant to leave
// the browser's cookie jar, so seeing it as a bearer token means it leaked.
func (s *Hall) AuthenticateStaff(ctx context.Context, token string, meta kernel.RequestMeta) (kernel.StaffActor, error) {
	return s.authenticateStaff(ctx, token, nil, meta)
}

// AuthenticateStaffCookie resolves a staff session cookie together with
// the request's X-CSRF-Token: only a cookie session, and only with its own
// CSRF token (compared in constant time). A cross-site page can make the
// browser send the cookie but cannot read the token to send with it.
func (s *Hall) AuthenticateStaffCookie(ctx context.Context, token, csrf string, meta kernel.RequestMeta) (kernel.StaffActor, error) {
	if csrf == "" {
		return kernel.StaffActor{}, models.ErrUnauthenticated
	}
	return s.authenticateStaff(ctx, token, &csrf, meta)
}

// authenticateStaff is AuthenticateStaff (csrf nil: a bearer token) or
// AuthenticateStaffCookie.
func (s *Hall) authenticateStaff(ctx context.Context, token string, csrf *string, meta kernel.RequestMeta) (kernel.StaffActor, error) {
	if !strings.HasPrefix(token, staffTokenPrefix) {
		return kernel.StaffActor{}, models.ErrUnauthenticated
	}
	key := staffSessionKey(token)
	b, err := s.Redis.Client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return kernel.StaffActor{}, models.ErrUnauthenticated
	}
	if err != nil {
		return kernel.StaffActor{}, models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	var sess staffSession
	if err := json.Unmarshal(b, &sess); err != nil {
		return kernel.StaffActor{}, models.ErrUnauthenticated
	}
	if csrf == nil && sess.CSRF != "" ||
		csrf != nil && (sess.CSRF == "" || subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(*csrf)) != 1) {
		return kernel.StaffActor{}, models.ErrUnauthenticated
	}
	now := s.Now()
	end := func() (kernel.StaffActor, error) {
		_ = s.Redis.Client.Del(ctx, key).Err()
		return kernel.StaffActor{}, models.ErrUnauthenticated
	}
	if now.Sub(sess.LastSeen) > staffSessionIdle || now.Sub(sess.CreatedAt) > staffSessionMax {
		return end()
	}
	var row store.StaffAccountRow
	if err := s.Conn(ctx).Where("id = ?", sess.StaffID).Take(&row).Error; err != nil {
		if kernel.IsNotFound(err) {
			return end()
		}
		return kernel.StaffActor{}, kernel.Internal("load staff", err)
	}
	if row.Status != StaffActive || row.CredVersion != sess.CredVersion || models.StaffRole(row.Role) != sess.Role {
		return end()
	}
	sess.LastSeen = now
	nb, _ := json.Marshal(sess)
	// SET XX: only a session still there slides. A logout (or a new
	// console login ending this one) that lands between the GET above and
	// this write must stay a logout, not come back for 30 minutes.
	ok, err := s.Redis.Client.SetXX(ctx, key, nb, staffSessionIdle).Result()
	if err != nil {
		return kernel.StaffActor{}, models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	if !ok {
		return kernel.StaffActor{}, models.ErrUnauthenticated
	}
	return kernel.StaffActor{StaffID: row.ID, Username: row.Username, Role: models.StaffRole(row.Role), RequestMeta: meta}, nil
}

// LogoutStaff ends a staff session.
func (s *Hall) LogoutStaff(ctx context.Context, a kernel.StaffActor, token string) error {
	if err := s.Redis.Client.Del(ctx, staffSessionKey(token)).Err(); err != nil {
		return models.ErrUnavailable.WithReason("session store: " + err.Error())
	}
	return s.AuditNow(ctx, a, kernel.AuditNote{Action: "staff.logout", TargetKind: "staff", TargetID: a.StaffID, Outcome: kernel.AuditOK})
}

// DropStaffSession ends the session of token without an actor: the
// console's earlier session, replaced by a new login in the same browser
// (a reload loses the CSRF token kept in the page's memory).
func (s *Hall) DropStaffSession(ctx context.Context, token string) {
	if strings.HasPrefix(token, staffTokenPrefix) {
		_ = s.Redis.Client.Del(ctx, staffSessionKey(token)).Err()
	}
}

// StaffMe returns the caller's own account.
func (s *Hall) StaffMe(ctx context.Context, a kernel.StaffActor) (StaffAccount, error) {
	var row store.StaffAccountRow
	if err := s.Conn(ctx).Where("id = ?", a.StaffID).Take(&row).Error; err != nil {
		return StaffAccount{}, kernel.Internal("load staff", err)
	}
	return s.staffView(row), nil
}

// ListStaffAccounts lists accounts by username (admin only).
func (s *Hall) ListStaffAccounts(ctx context.Context, a kernel.StaffActor, page kernel.Page) ([]StaffAccount, string, error) {
	if err := s.Require(ctx, a, models.PermStaffManage, "staff.list", "staff", ""); err != nil {
		return nil, "", err
	}
	q := s.Conn(ctx).Order("username")
	if page.After != "" {
		q = q.Where("username > ?", page.After)
	}
	var rows []store.StaffAccountRow
	if err := q.Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list staff", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = rows[len(rows)-1].Username
	}
	out := make([]StaffAccount, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.staffView(r))
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "staff.list", TargetKind: "staff", Outcome: kernel.AuditOK,
		Detail: fmt.Sprintf("%d 个账号", len(out))}); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// CreateStaffAccount creates an account with a generated password and TOTP
// secret, returned once (admin only).
func (s *Hall) CreateStaffAccount(ctx context.Context, a kernel.StaffActor, in StaffAccountInput) (StaffCredentials, error) {
	if err := s.Require(ctx, a, models.PermStaffManage, "staff.create", "staff", ""); err != nil {
		return StaffCredentials{}, err
	}
	var creds StaffCredentials
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		creds, err = s.createStaff(tx, in.Username, in.Role, "", "", a.StaffID)
		if err != nil {
			return err
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "staff.create", TargetKind: "staff", TargetID: creds.Account.StaffID, Outcome: kernel.AuditOK,
			Detail: creds.Account.Username + " / " + string(creds.Account.Role)})
	})
	return creds, kernel.Internal("create staff", err)
}

// createStaff inserts an account; password and totpSecret are generated
// when empty.
func (s *Hall) createStaff(tx *gorm.DB, username string, role models.StaffRole, password, totpSecret, createdBy string) (StaffCredentials, error) {
	u, err := models.NormalizeUsername(username)
	if err != nil {
		return StaffCredentials{}, err
	}
	if !role.Valid() {
		return StaffCredentials{}, models.ErrInvalid.WithReason("岗位应为 tax_window、si_reviewer、mi_reviewer、admin 或 auditor")
	}
	if password == "" {
		password = generatePassword()
	}
	key, err := newTOTPKey(u, totpSecret)
	if err != nil {
		return StaffCredentials{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return StaffCredentials{}, err
	}
	sealed, err := s.Seal(key.Secret())
	if err != nil {
		return StaffCredentials{}, err
	}
	now := s.Now()
	if createdBy == "" {
		createdBy = "system"
	}
	row := store.StaffAccountRow{ID: kernel.NewID("st"), Username: u, Role: string(role), Status: StaffActive, PasswordHash: hash,
		TOTPSealed: sealed, CredVersion: 1, CreatedBy: createdBy, CreatedAt: now, UpdatedAt: now}
	ok, err := kernel.InsertIfAbsent(tx, &row)
	if err != nil {
		return StaffCredentials{}, err
	}
	if !ok {
		return StaffCredentials{}, models.ErrStaffExists
	}
	return StaffCredentials{Account: s.staffView(row), Password: password, TOTPSecret: key.Secret(), OTPAuthURL: key.URL()}, nil
}

// DisableStaffAccount disables an account (admin only); its sessions end
// at their next request. An admin cannot disable their own account.
func (s *Hall) DisableStaffAccount(ctx context.Context, a kernel.StaffActor, staffID string) (StaffAccount, error) {
	if err := s.Require(ctx, a, models.PermStaffManage, "staff.disable", "staff", staffID); err != nil {
		return StaffAccount{}, err
	}
	if staffID == a.StaffID {
		return StaffAccount{}, models.ErrInvalid.WithReason("不能停用自己的账号")
	}
	var row store.StaffAccountRow
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		res := tx.Model(&store.StaffAccountRow{}).Where("id = ? AND status = ?", staffID, StaffActive).
			Updates(map[string]any{"status": StaffDisabled, "disabled_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Where("id = ?", staffID).Take(&row).Error; err != nil {
			if kernel.IsNotFound(err) {
				return models.ErrNotFound
			}
			return err
		}
		if res.RowsAffected != 1 {
			return nil // already disabled
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "staff.disable", TargetKind: "staff", TargetID: staffID, Outcome: kernel.AuditOK, Detail: row.Username})
	})
	if err != nil {
		return StaffAccount{}, kernel.Internal("disable staff", err)
	}
	return s.staffView(row), nil
}

// ResetStaffAccount gives an account a new password and TOTP secret
// (returned once), unlocks it and ends its sessions (admin only).
func (s *Hall) ResetStaffAccount(ctx context.Context, a kernel.StaffActor, staffID string) (StaffCredentials, error) {
	if err := s.Require(ctx, a, models.PermStaffManage, "staff.reset", "staff", staffID); err != nil {
		return StaffCredentials{}, err
	}
	var creds StaffCredentials
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		var row store.StaffAccountRow
		if err := tx.Where("id = ?", staffID).Take(&row).Error; err != nil {
			if kernel.IsNotFound(err) {
				return models.ErrNotFound
			}
			return err
		}
		password := generatePassword()
		key, err := newTOTPKey(row.Username, "")
		if err != nil {
			return err
		}
		hash, err := hashPassword(password)
		if err != nil {
			return err
		}
		sealed, err := s.Seal(key.Secret())
		if err != nil {
			return err
		}
		now := s.Now()
		res := tx.Model(&store.StaffAccountRow{}).Where("id = ? AND cred_version = ?", row.ID, row.CredVersion).
			Updates(map[string]any{"password_hash": hash, "totp_sealed": sealed, "totp_last_step": 0, "cred_version": row.CredVersion + 1,
				"failed_count": 0, "failed_since": nil, "locked_until": nil, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return models.ErrRequestInProgress
		}
		row.LockedUntil = nil
		creds = StaffCredentials{Account: s.staffView(row), Password: password, TOTPSecret: key.Secret(), OTPAuthURL: key.URL()}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "staff.reset", TargetKind: "staff", TargetID: row.ID, Outcome: kernel.AuditOK, Detail: row.Username})
	})
	return creds, kernel.Internal("reset staff", err)
}

// BootstrapStaff creates the first admin account, for the command line. It
// refuses when an active admin exists: admins then manage accounts.
func (s *Hall) BootstrapStaff(ctx context.Context, username string, role models.StaffRole) (StaffCredentials, error) {
	if role != models.RoleAdmin {
		return StaffCredentials{}, models.ErrInvalid.WithReason("bootstrap creates the first admin; other roles are created by an admin")
	}
	var creds StaffCredentials
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&store.StaffAccountRow{}).Where("role = ? AND status = ?", string(models.RoleAdmin), StaffActive).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return models.ErrStaffExists.WithReason("an active admin exists; use the admin endpoints")
		}
		var err error
		if creds, err = s.createStaff(tx, username, role, "", "", "bootstrap"); err != nil {
			return err
		}
		return s.AuditTx(tx, kernel.StaffActor{Username: "system"}, kernel.AuditNote{Action: "staff.bootstrap", TargetKind: "staff",
			TargetID: creds.Account.StaffID, Outcome: kernel.AuditOK, Detail: creds.Account.Username + " / " + string(role)})
	})
	return creds, kernel.Internal("bootstrap staff", err)
}

// SeedStaffAccount creates an account with a known password and TOTP
// secret unless the username exists (sandbox mode's demo accounts).
func (s *Hall) SeedStaffAccount(ctx context.Context, username string, role models.StaffRole, password, totpSecret string) error {
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		creds, err := s.createStaff(tx, username, role, password, totpSecret, "sandbox")
		if errors.Is(err, models.ErrStaffExists) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.AuditTx(tx, kernel.StaffActor{Username: "system"}, kernel.AuditNote{Action: "staff.seed", TargetKind: "staff",
			TargetID: creds.Account.StaffID, Outcome: kernel.AuditOK, Detail: creds.Account.Username + " / " + string(role)})
	})
	return kernel.Internal("seed staff", err)
}

// Require checks a permission; a refusal is audited and returned as
// ErrRoleForbidden.
func (s *Hall) Require(ctx context.Context, a kernel.StaffActor, p models.Permission, action, kind, id string) error {
	if a.Role.May(p) {
		return nil
	}
	return s.Deny(ctx, a, action, kind, id)
}

// Deny audits a refused action and returns ErrRoleForbidden.
func (s *Hall) Deny(ctx context.Context, a kernel.StaffActor, action, kind, id string) error {
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: action, TargetKind: kind, TargetID: id, Outcome: kernel.AuditDenied,
		Detail: "岗位 " + string(a.Role) + " 无此权限"}); err != nil {
		return err
	}
	return models.ErrRoleForbidden
}
