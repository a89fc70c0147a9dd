// Package unitrefunds is a unit's refund application (business 9 of the
// seed, 单位社会保险费退费申请) as the unit files it: who may act for the
// unit (service/units), which uploads it may attach (service/uploads), and
// the application itself, which is the individual's path in
// service/refunds (its unit.go) from there on: the tax window accepts or
// refuses it with every reason at once, 社保 or 医保 reviews it by scheme,
// and the tax window pays it to the unit's account (service/payouts).
package unitrefunds

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/service/uploads"
	"github.com/lianban/lianban/store"
)

// refundRateLimit is service/refunds' applications per user per hour.
const refundRateLimit = 20

// UnitRefunds is the unit's side of refunds. It is safe for concurrent use.
type UnitRefunds struct {
	*kernel.Kernel
	units   *units.Units
	refunds *refunds.Refunds
}

// New returns a unit's refund workflows.
func New(k *kernel.Kernel, u *units.Units, r *refunds.Refunds) *UnitRefunds {
	return &UnitRefunds{Kernel: k, units: u, refunds: r}
}

// CreateUnitRefund files a refund application for unit unitID. The caller
// must act for the unit (anyone else: NOT_FOUND), and every attachment
// must be an upload made for this unit, or one the caller made for no
// unit; any other upload id is NOT_FOUND, whoever made it, so ids cannot
// be probed. An attachment uploaded more than uploads.AttachableUploadAge
// ago is INVALID (re-upload): unattached uploads are purged at 7 days.
func (s *UnitRefunds) CreateUnitRefund(ctx context.Context, userID, unitID string, in refunds.UnitRefundInput) (refunds.Refund, error) {
	// The individual's bucket: one user files at most so many applications
	// an hour, for themselves and for units together.
	if err := s.RateLimit(ctx, "refund:"+userID, refundRateLimit, time.Hour, kernel.LetThrough); err != nil {
		return refunds.Refund{}, err
	}
	if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
		return refunds.Refund{}, err
	}
	in, bank, err := refunds.CheckUnitRefundInput(in)
	if err != nil {
		return refunds.Refund{}, err
	}
	var n int64
	if err := s.Conn(ctx).Model(&store.UploadRow{}).Where("id IN ?", in.Attachments).
		Where("(unit_id = ? OR (unit_id = '' AND owner_user_id = ?))", unitID, userID).Count(&n).Error; err != nil {
		return refunds.Refund{}, kernel.Internal("check attachments", err)
	}
	if n != int64(len(in.Attachments)) {
		return refunds.Refund{}, models.ErrNotFound.WithReason("附件不存在或不属于本单位，请重新上传")
	}
	// An upload near its purge is refused, so none can be deleted under a
	// filing (uploads.AttachableUploadAge).
	var stale int64
	if err := s.Conn(ctx).Model(&store.UploadRow{}).Where("id IN ? AND created_at < ?", in.Attachments, s.Now().Add(-uploads.AttachableUploadAge)).
		Count(&stale).Error; err != nil {
		return refunds.Refund{}, kernel.Internal("check attachments", err)
	}
	if stale > 0 {
		return refunds.Refund{}, models.ErrInvalid.WithReason("附件上传已超过 6 天，请重新上传后再提交")
	}
	unit, err := s.units.Unit(ctx, unitID)
	if err != nil {
		return refunds.Refund{}, err
	}
	return s.refunds.FileUnitRefund(ctx, userID, unit, in, bank)
}

// ListUnitRefunds lists a unit's applications to someone acting for it.
func (s *UnitRefunds) ListUnitRefunds(ctx context.Context, userID, unitID string, page kernel.Page) ([]refunds.Refund, string, error) {
	if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
		return nil, "", err
	}
	return s.refunds.UnitRefundsOf(ctx, userID, unitID, page)
}

// DownloadRefundAttachment is one file of an application for a staff
// member who may read it (audited), its bytes checked against the digest
// taken when it was uploaded.
func (s *UnitRefunds) DownloadRefundAttachment(ctx context.Context, a kernel.StaffActor, refundNo, uploadID string) (store.UploadRow, []byte, error) {
	return s.refunds.StaffRefundAttachment(ctx, a, refundNo, uploadID, func(ctx context.Context, u store.UploadRow) ([]byte, error) {
		return uploads.Open(ctx, s.Blobs, s.PII, u)
	})
}
