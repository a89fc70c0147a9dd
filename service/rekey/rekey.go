// Package rekey rewrites personal data at rest under the writing key and
// suite of the PII keyring (`lianban rekey`): every sealed column is
// opened (with whichever configured key sealed it) and sealed again, and
// every blind index is computed again, table by table in batches, while
// the service runs. Reads keep working throughout because the keyring
// opens every configured key's values and lookups match every key's index
// (models.PIICipher.BlindIndexes); the pass only makes the old keys
// unnecessary, so they can be dropped from the configuration once it is
// done.
//
// Uploaded files (uploads, sealed with SealBytes in the blob store) are
// rewritten too, when the Rekeyer has the blob store: each blob is
// replaced whole under the same key (the stores replace atomically), so a
// download sees the old bytes or the new ones.
//
// A pass is resumable: each batch is committed together with the last
// primary key it covered (rekey_progress), so an interrupted pass goes on
// after that row. A row is rewritten by a conditional update on the
// values read, so a row the service changed meanwhile (sealed under the
// writing key anyway) is left as the service wrote it.
package rekey

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// index is a blind-index column computed from the opened value of a
// sealed column of the same row.
type index struct {
	column, from, kind string
	// unique is a unique index: two rows of one value (written while
	// instances indexed with different keys) stop the pass, named.
	unique bool
}

// table is a table holding personal data: its primary key, its sealed
// columns and its blind indexes.
type table struct {
	name, key string
	sealed    []string
	indexes   []index
	extra     []string // read too, not rewritten
}

// tables lists every sealed column of the schema. A new sealed column must
// be added here, or rekey leaves it under the old key (and the old key
// cannot be dropped).
func tables() []table {
	return []table{
		{name: "persons", key: "id", sealed: []string{"id_sealed", "name_sealed"},
			indexes: []index{{column: "id_index", from: "id_sealed", kind: "id_number", unique: true}}},
		{name: "users", key: "id", sealed: []string{"phone_sealed"}},
		{name: "staff_accounts", key: "id", sealed: []string{"totp_sealed"}},
		{name: "partner_keys", key: "id", sealed: []string{"secret_sealed"}},
		{name: "hall_consents", key: "order_no", sealed: []string{"payer_name_sealed"}},
		{name: "refunds", key: "refund_no", sealed: []string{"account_name_sealed", "account_no_sealed"}},
		{name: "refund_payouts", key: "payout_no", sealed: []string{"account_name_sealed", "account_no_sealed"}},
		{name: "tripartite_agreements", key: "id", sealed: []string{"account_name_sealed", "account_no_sealed"},
			indexes: []index{{column: "account_no_index", from: "account_no_sealed", kind: "bank_account"}}},
	}
}

// DefaultBatch is how many rows a batch reads and commits.
const DefaultBatch = 500

// Rekeyer runs rekey passes.
type Rekeyer struct {
	DB  *store.DB
	PII *models.PIICipher
	Log *slog.Logger
	Now func() time.Time
	// Batch is the rows per batch; DefaultBatch when 0.
	Batch int
	// AfterBatch, if set, is called after each committed batch; an error
	// stops the pass there, as a crash would (the tests interrupt with it).
	AfterBatch func(table string, rekeyed int64) error
	// Blobs is where uploaded files are kept; nil leaves them as they are
	// (they still open while their key is configured).
	Blobs models.BlobStore
}

// Result is what a pass did to one table.
type Result struct {
	Table string
	// Scanned and Rekeyed count this run's rows; Total is every row the
	// pass rewrote for the target, earlier interrupted runs included.
	Scanned, Rekeyed, Total int64
	// Skipped is true when an earlier run had finished the table.
	Skipped bool
}

// Run rewrites every table under the keyring's writing key and suite,
// resuming where an earlier run for the same target stopped.
func (r *Rekeyer) Run(ctx context.Context) ([]Result, error) {
	if r.Batch <= 0 {
		r.Batch = DefaultBatch
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	var out []Result
	for _, t := range tables() {
		res, err := r.table(ctx, t)
		out = append(out, res)
		if err != nil {
			return out, fmt.Errorf("rekey %s: %w", t.name, err)
		}
	}
	if r.Blobs != nil {
		res, err := r.table(ctx, uploadsTable())
		out = append(out, res)
		if err != nil {
			return out, fmt.Errorf("rekey uploaded files: %w", err)
		}
	}
	return out, nil
}

// uploadsTable stands for the uploaded files: rows of uploads whose
// blob_key names a sealed blob (of content_type, kept when it is put
// back).
func uploadsTable() table {
	return table{name: "uploads", key: "id", extra: []string{"blob_key", "content_type"}}
}

func (r *Rekeyer) table(ctx context.Context, t table) (Result, error) {
	res := Result{Table: t.name}
	db := r.DB.Gorm.WithContext(ctx)
	target := r.PII.Current()
	var p store.RekeyProgressRow
	err := db.Where("table_name = ?", t.name).Take(&p).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound) || err == nil && p.Target != target:
		p = store.RekeyProgressRow{Table: t.name, Target: target, UpdatedAt: r.Now().UTC()}
		if err := db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&p).Error; err != nil {
			return res, err
		}
	case err != nil:
		return res, err
	case p.Done:
		res.Skipped, res.Total = true, p.RowsRekeyed
		return res, nil
	}
	cols := append([]string{t.key}, t.sealed...)
	for _, ix := range t.indexes {
		cols = append(cols, ix.column)
	}
	cols = append(cols, t.extra...)
	for {
		rows, err := r.batch(ctx, t, cols, p.CursorID)
		if err != nil {
			return res, err
		}
		if len(rows) == 0 {
			p.Done = true
			p.UpdatedAt = r.Now().UTC()
			res.Total = p.RowsRekeyed
			err := db.Model(&store.RekeyProgressRow{}).Where("table_name = ? AND target = ?", t.name, target).
				Updates(map[string]any{"done": true, "updated_at": p.UpdatedAt}).Error
			r.Log.InfoContext(ctx, "rekey table done", "table", t.name, "target", target, "rekeyed", p.RowsRekeyed)
			return res, err
		}
		var rekeyed int64
		err = r.DB.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, row := range rows {
				rewrite := r.rewrite
				if t.name == uploadsTable().name {
					rewrite = r.rewriteBlob
				}
				changed, err := rewrite(tx, t, cols, row)
				if err != nil {
					return err
				}
				if changed {
					rekeyed++
				}
			}
			last := rows[len(rows)-1][0]
			upd := tx.Model(&store.RekeyProgressRow{}).Where("table_name = ? AND target = ? AND cursor_id = ?", t.name, target, p.CursorID).
				Updates(map[string]any{"cursor_id": last, "rows_rekeyed": p.RowsRekeyed + rekeyed, "updated_at": r.Now().UTC()})
			if upd.Error != nil {
				return upd.Error
			}
			if upd.RowsAffected != 1 {
				// Another rekey moved the cursor: two passes at once would
				// each skip the other's rows' progress; stop this one.
				return errors.New("another rekey is running on this table")
			}
			p.CursorID = last
			return nil
		})
		if err != nil {
			return res, err
		}
		p.RowsRekeyed += rekeyed
		res.Scanned += int64(len(rows))
		res.Rekeyed += rekeyed
		res.Total = p.RowsRekeyed
		if r.AfterBatch != nil {
			if err := r.AfterBatch(t.name, res.Rekeyed); err != nil {
				return res, err
			}
		}
	}
}

// batch reads the next rows after cursor, in primary-key order, as
// strings in cols' order.
func (r *Rekeyer) batch(ctx context.Context, t table, cols []string, cursor string) ([][]string, error) {
	rs, err := r.DB.Gorm.WithContext(ctx).Table(t.name).Select(cols).Where(t.key+" > ?", cursor).
		Order(t.key).Limit(r.Batch).Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out [][]string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, rs.Err()
}

// rewrite seals row's values and computes its indexes again where they
// are not the writing key's, with an update conditional on the values
// read. It reports whether the row was rewritten.
func (r *Rekeyer) rewrite(tx *gorm.DB, t table, cols []string, row []string) (bool, error) {
	val := map[string]string{}
	for i, c := range cols {
		val[c] = row[i]
	}
	set := map[string]any{}
	plain := map[string]string{}
	open := func(col string) (string, error) {
		if v, ok := plain[col]; ok {
			return v, nil
		}
		v, err := r.PII.Open(val[col])
		if err != nil {
			// A value no configured key opens: a key was dropped from
			// the keyring too early. Stop rather than lose it.
			return "", fmt.Errorf("%s %s=%s: %s does not open with any configured key", t.name, t.key, val[t.key], col)
		}
		plain[col] = v
		return v, nil
	}
	for _, c := range t.sealed {
		if r.PII.IsCurrent(val[c]) {
			continue
		}
		v, err := open(c)
		if err != nil {
			return false, err
		}
		if set[c], err = r.PII.Seal(v); err != nil {
			return false, err
		}
	}
	for _, ix := range t.indexes {
		v, err := open(ix.from)
		if err != nil {
			return false, err
		}
		want := r.PII.BlindIndex(ix.kind, v)
		if want == val[ix.column] {
			continue
		}
		if ix.unique {
			if err := r.checkUnique(tx, t, ix, val[t.key], v); err != nil {
				return false, err
			}
		}
		set[ix.column] = want
	}
	if len(set) == 0 {
		return false, nil
	}
	q := tx.Table(t.name).Where(t.key+" = ?", val[t.key])
	for _, c := range cols[1:] {
		q = q.Where(c+" = ?", val[c])
	}
	res := q.Updates(set)
	if res.Error != nil {
		return false, fmt.Errorf("%s %s=%s: %w", t.name, t.key, val[t.key], res.Error)
	}
	// Nothing updated: the service changed the row since it was read, and
	// sealed what it wrote under the writing key.
	return res.RowsAffected == 1, nil
}

// checkUnique stops the pass when another row holds the same value under
// any configured key's index. The unique index only compares equal index
// strings, so two instances writing with different keys (a rotation not
// rolled out in two phases) can each have inserted the value; setting this
// row's index to the writing key's would then fail on the unique index
// with nothing said about why. Nothing is merged: which row the rest of
// the data hangs on is for a person to decide.
func (r *Rekeyer) checkUnique(tx *gorm.DB, t table, ix index, id, plain string) error {
	var others []string
	err := tx.Table(t.name).Where(ix.column+" IN ?", r.PII.BlindIndexes(ix.kind, plain)).
		Where(t.key+" <> ?", id).Order(t.key).Pluck(t.key, &others).Error
	if err != nil {
		return fmt.Errorf("%s %s=%s: %w", t.name, t.key, id, err)
	}
	if len(others) > 0 {
		return fmt.Errorf("%s %s=%s and %s=%s hold the same %s (written while instances indexed with different keys): "+
			"merge them into one, then run rekey again", t.name, t.key, id, t.key, strings.Join(others, ","), ix.kind)
	}
	return nil
}

// rewriteBlob seals an uploaded file again under the writing key, in place.
// A blob already gone (purged with its upload) is skipped.
func (r *Rekeyer) rewriteBlob(tx *gorm.DB, _ table, _ []string, row []string) (bool, error) {
	ctx := tx.Statement.Context
	id, key, contentType := row[0], row[1], row[2]
	rc, err := r.Blobs.Get(ctx, key)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("upload %s: %w", id, err)
	}
	sealed, err := io.ReadAll(io.LimitReader(rc, models.MaxUploadBytes+int64(models.MaxSealedBytesOverhead)+1))
	rc.Close()
	if err != nil {
		return false, fmt.Errorf("upload %s: %w", id, err)
	}
	if r.PII.IsCurrentBytes(sealed) {
		return false, nil
	}
	plain, err := r.PII.OpenBytes(sealed, key)
	if err != nil {
		return false, fmt.Errorf("upload %s: does not open with any configured key", id)
	}
	again, err := r.PII.SealBytes(plain, key)
	if err != nil {
		return false, err
	}
	if err := r.Blobs.Put(ctx, key, bytes.NewReader(again), int64(len(again)), contentType); err != nil {
		return false, fmt.Errorf("upload %s: %w", id, err)
	}
	return true, nil
}

// Tables lists the tables a pass rewrites, for the command's report.
func Tables() []string {
	var out []string
	for _, t := range tables() {
		out = append(out, t.name)
	}
	return out
}

// NoteSuite records that personal data is sealed under suite from now on
// (see crypto_suites); an instance starting under LIANBAN_CRYPTO=sm calls
// it before it writes anything.
func NoteSuite(ctx context.Context, db *store.DB, suite string, now time.Time) error {
	row := store.CryptoSuiteRow{Name: suite, FirstUsedAt: now.UTC()}
	return db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
}

// SuitesInUse lists the suites noted by NoteSuite.
func SuitesInUse(ctx context.Context, db *store.DB) ([]string, error) {
	var names []string
	err := db.Gorm.WithContext(ctx).Model(&store.CryptoSuiteRow{}).Order("name").Pluck("name", &names).Error
	return names, err
}

// Summary is one line per table for the command's output.
func Summary(results []Result) string {
	var b strings.Builder
	for _, r := range results {
		state := "done"
		if r.Skipped {
			state = "already done"
		}
		fmt.Fprintf(&b, "%-22s scanned %d, rekeyed %d (pass total %d), %s\n", r.Table, r.Scanned, r.Rekeyed, r.Total, state)
	}
	return b.String()
}
