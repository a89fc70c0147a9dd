package kernel

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Options are the knobs of the workflows, with defaults from Defaults.
type Options struct {
	Sandbox         bool
	SessionTTL      time.Duration // sliding session expiry
	DeclarationTTL  time.Duration // an unpaid declaration releases its months after this
	OrderTTL        time.Duration // an order may be paid until this long after creation
	FirstQueryAfter time.Duration // query a paying order this long after creation when no notification came
	MinCloseAge     time.Duration // never close an order younger than this (WeChat: 5 minutes)
	WorkerInterval  time.Duration // how often background workers look for work
	PublicBaseURL   string        // how the outside world reaches this server, for notify and verify URLs
	LoginRateLimit  int           // login attempts per client IP per minute
	BindRateLimit   int           // identity bindings per user per hour
	OrderRateLimit  int           // orders per user per minute
	// IdentityChecksPerUser and IdentityChecksPerAddress are the one
	// budget, per user and per client address per hour, that every check
	// of a name against an ID number spends, whatever the route: each is a
	// registry call in production and, answered, a guess confirmed or not.
	IdentityChecksPerUser    int
	IdentityChecksPerAddress int
	// PartnerIdentityChecks is the hourly budget of name + ID number
	// checks of one partner (a bank's counters together); HallIdentityChecks
	// that of one member of the hall's staff. A partner calls from a few
	// server addresses, so the per-address budget does not apply to it.
	PartnerIdentityChecks int
	HallIdentityChecks    int
	// CryptoSM is the 国密 option (LIANBAN_CRYPTO=sm): partners may sign
	// with HMAC-SM3. Personal data and certificates follow the PII keyring
	// and the certificate signer the option configures.
	CryptoSM bool
	// WorkLease is how long an instance's claim on a piece of background
	// work lasts (see ClaimWork): longer than any outside call it covers
	// can take, so a live holder never loses it, and short enough that the
	// work of an instance that died is taken over soon.
	WorkLease time.Duration
}

// Defaults returns the production defaults.
func Defaults() Options {
	return Options{
		SessionTTL:      2 * time.Hour,
		DeclarationTTL:  2 * time.Hour,
		OrderTTL:        30 * time.Minute,
		FirstQueryAfter: time.Minute,
		MinCloseAge:     5 * time.Minute,
		WorkerInterval:  2 * time.Second,
		PublicBaseURL:   "http://127.0.0.1:8080",
		LoginRateLimit:  30,
		BindRateLimit:   10,
		OrderRateLimit:  20,
		// A person binds once and adds a handful of relatives; 20 checks
		// an hour is several times that. An address is shared by a
		// family's Wi-Fi or a carrier's NAT, so it gets five users' worth.
		IdentityChecksPerUser:    20,
		IdentityChecksPerAddress: 100,
		// A bank's counters serve a few hundred payers an hour at the
		// busiest; a window clerk one every few minutes.
		PartnerIdentityChecks: 2000,
		HallIdentityChecks:    60,
		// Channel and bank calls time out within a minute.
		WorkLease: 5 * time.Minute,
	}
}

// Deps are the things the workflows talk to.
type Deps struct {
	DB       *store.DB
	Redis    *store.Redis
	PII      *models.PIICipher
	Policy   *models.PolicyBook
	Clock    models.Clock
	Log      *slog.Logger
	Identity models.IdentityVerifier
	Treasury models.Treasury
	Agency   models.AgencyBooking
	// Contributions, MedicalAssessor and CivilAffairs give the facts the fee
	// rules need: contribution years (延长缴费), the 医保 agency's assessed
	// flexible medical amounts, and assistance statuses (资助参保). When one
	// is missing the payables say the fact is unknown; they never guess.
	Contributions   models.ContributionRecords
	MedicalAssessor models.MedicalAssessor
	CivilAffairs    models.CivilAffairs
	Logins          map[string]models.LoginChannel
	Payments        map[string]models.PaymentChannel
	// Cashiers pay orders as the payer would at a channel's cashier, for
	// channels running against their in-process fakes (sandbox mode).
	Cashiers map[string]Cashier
	// Bank pays refunds to bank accounts.
	Bank models.BankTransfer
	// UnitRegistry says who a unit is (统一社会信用代码, type, region) and
	// who its legal representative is.
	UnitRegistry models.UnitRegistry
	// Tripartite verifies units' 三方协议 and debits their accounts.
	Tripartite models.TripartiteBank
	// Blobs keeps uploaded files (a unit's refund materials).
	Blobs models.BlobStore
	// Messengers push messages to users of a login channel (WeChat
	// subscribe messages); the in-app message list is kept regardless.
	Messengers map[string]models.MessageSender
	// Certificates renders and signs certificates.
	Certificates CertificateDeps
	// OnPaid, if set, is told about every newly settled order (messages).
	OnPaid func(ctx context.Context, orderNo string)
	// InstanceID names this process among the instances sharing the
	// database, in work leases and logs; New makes one when it is empty.
	InstanceID string
	// Numbers draws the numbers Number hands out; nil is NewNumber. A test
	// sets it to make two draws collide, which random digits do only now
	// and then.
	Numbers func(prefix string, at time.Time, n int) string
}

// Kernel is what every area of the workflows shares: the dependencies,
// the options and the helpers on them (clock, database handles, ids, error
// wrapping). Each area's service embeds it. It is safe for concurrent use.
type Kernel struct {
	Deps
	Opt Options
	// unreleased holds the work claims whose release failed, until the
	// next worker pass (RetryWorkReleases).
	unreleased *unreleased
}

// New returns a Kernel, with the system clock and a silent log where d
// has none.
func New(d Deps, opt Options) *Kernel {
	if d.Clock == nil {
		d.Clock = models.SystemClock{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.InstanceID == "" {
		d.InstanceID = NewInstanceID()
	}
	if opt.WorkLease <= 0 {
		opt.WorkLease = Defaults().WorkLease // a zero lease would be taken over at once
	}
	return &Kernel{Deps: d, Opt: opt, unreleased: &unreleased{}}
}

// Number draws a number (NewNumber's prefix + Beijing timestamp + n
// random digits) from Deps.Numbers.
func (s *Kernel) Number(prefix string, at time.Time, n int) string {
	if s.Numbers != nil {
		return s.Numbers(prefix, at, n)
	}
	return NewNumber(prefix, at, n)
}

// Options returns the options the service runs with.
func (s *Kernel) Options() Options { return s.Opt }

// Now is the service clock's time in UTC.
func (s *Kernel) Now() time.Time { return s.Clock.Now().UTC() }

// Conn is the database handle for ctx. (Deps.DB is the store itself.)
func (s *Kernel) Conn(ctx context.Context) *gorm.DB { return s.DB.Gorm.WithContext(ctx) }

// Read is the connection for a read made outside a transaction: on SQLite
// a read-only pool beside the single writer (store.DB.Reader), so pages
// and polls do not queue behind payments. It sees every committed write;
// a read that must see its own transaction's writes uses that tx instead.
func (s *Kernel) Read(ctx context.Context) *gorm.DB { return s.DB.Reader.WithContext(ctx) }

// Tx runs fn in a transaction.
func (s *Kernel) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.Conn(ctx).Transaction(fn)
}

var idEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// NewID returns a random, unguessable object id with a readable prefix.
func NewID(prefix string) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + "_" + idEncoding.EncodeToString(b)
}

// NewNumber returns prefix + Beijing timestamp + n random digits: order
// numbers and receipt numbers people read out on the phone to the hall.
func NewNumber(prefix string, at time.Time, n int) string {
	var sb strings.Builder
	sb.WriteString(prefix)
	sb.WriteString(at.In(models.Beijing).Format("20060102150405"))
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		sb.WriteByte(byte('0' + d.Int64()))
	}
	return sb.String()
}

// IsNotFound reports a missing row.
func IsNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// IsDuplicate reports a unique-key violation on any dialect.
func IsDuplicate(err error) bool { return store.IsDuplicate(err) }

// InsertIfAbsent inserts row unless a unique key already holds it, and
// reports whether it did. Inside a transaction this is the only safe way
// to meet a duplicate: PostgreSQL aborts a transaction on any failed
// statement, so "try and catch the duplicate" cannot continue there.
func InsertIfAbsent(tx *gorm.DB, row any) (bool, error) {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(row)
	return res.RowsAffected == 1, res.Error
}

// InsertNumbered inserts row under a number draw puts on it (NewNumber's
// random digits: two rows drawn in the same second can share them, about
// four times in ten among a thousand six-digit draws) and reports whether
// it did.
// false means another of the row's unique keys holds it already (the
// person is enrolled in the scheme); a collision on the number alone
// draws again, where a bare InsertIfAbsent had told a payer "already
// enrolled" about someone else's receipt number. model is an empty row of
// the same table (column is read there) and column is the number's.
func InsertNumbered(db *gorm.DB, row, model any, column string, draw func() string) (bool, error) {
	for range 5 {
		no := draw()
		ok, err := InsertIfAbsent(db, row)
		if err != nil || ok {
			return ok, err
		}
		var n int64
		if err := db.Model(model).Where(column+" = ?", no).Count(&n).Error; err != nil {
			return false, err
		}
		if n == 0 {
			return false, nil
		}
	}
	return false, fmt.Errorf("%s: five drawn numbers were all taken", column)
}

// DrawAgain runs attempt, which draws its numbers afresh on each call
// (Kernel.Number) and writes them in one transaction, again while it fails
// on a unique key, up to five times. Only for a transaction whose every
// unique key is a number it drew: there a duplicate can only be two
// draws meeting, and the failed transaction left nothing behind. (Where
// the row has a unique key of its own, InsertNumbered tells the two
// apart.)
func DrawAgain(attempt func() error) error {
	var err error
	for range 5 {
		if err = attempt(); err == nil || !IsDuplicate(err) {
			return err
		}
	}
	return fmt.Errorf("five drawn numbers were all taken: %w", err)
}

// Internal wraps an unexpected error; handlers show clients only a generic
// message and log the detail with the request id.
func Internal(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := models.AsError(err); ok {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
