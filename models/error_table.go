package models

// ErrorTable lists every error a client can be answered with: each
// sentinel of the package, once. The message catalogs (locale) word each
// code's message in every language from it, and a test holds the Chinese
// catalog equal to the messages here, so the two cannot drift. Two
// sentinels may share a code (ErrSandboxOnly is NOT_FOUND to the client);
// they then share the message too.
//
// It returns a fresh slice on every call: the table is code, not state.
func ErrorTable() []*Error {
	return []*Error{
		ErrInternal, ErrInvalid, ErrUnauthenticated, ErrForbidden, ErrNotFound, ErrRateLimited, ErrUnavailable,
		ErrIdempotencyReused, ErrIDNumberInvalid, ErrIdentityMismatch, ErrIdentityBound, ErrIdentityRequired,
		ErrLoginFailed, ErrFamilyExists, ErrNotEligible, ErrAlreadyEnrolled, ErrNotEnrolled, ErrAlreadyDeclared,
		ErrAlreadyPaid, ErrOutOfCollection, ErrBaseOutOfRange, ErrDeclarationExpired, ErrDeclarationPaying,
		ErrChannelUnsupported, ErrOrderNotPayable, ErrSandboxOnly, ErrPolicyUnavailable, ErrRegionInvalid,
		ErrSchemeInvalid, ErrNotificationInvalid, ErrNotificationMismatch, ErrOrderPaidAtChannel,
		ErrDeclarationPayingByOther, ErrGuardianshipNotProven, ErrBodyTooLarge, ErrNameInvalid, ErrUSCCInvalid,
		ErrUnitMismatch, ErrUnitUnknown, ErrSchemeNotForUnitType, ErrWageInvalid, ErrPeriodInvalid,
		ErrUploadTypeNotAllowed, ErrUploadTooLarge, ErrRosterUnreadable, ErrRosterInvalid, ErrUnitOperatorUnknown,
		ErrUnitOperatorExists, ErrUnitLegalRepFixed, ErrUnitSchemeRegistered, ErrUnitNotRegistered,
		ErrUnitDeclarationExists, ErrUnitNothingToDeclare, ErrUnitEmployeeEnded, ErrRosterConflict,
		ErrUnitCorrectionNotPayable, ErrAgreementNotVerified, ErrPaidAmountMismatch, ErrPartnerAuthFailed,
		ErrPartnerExists, ErrPartnerLastKey, ErrReversalNotAllowed, ErrPartnerTxnReused, ErrMethodNotAllowed,
		ErrRequestInProgress,
		// certificate.go, certificate_issue.go
		ErrCertificateGlyphMissing, ErrCertificateNotCredited, ErrCertificateRevoked, ErrCertificateOrderNotPaid,
		// refund.go
		ErrRefundNotCredited, ErrRefundExceeds, ErrRefundOpen, ErrRefundState, ErrBankAccountNeeded,
		ErrBankAccountInvalid, ErrRefundApplicant, ErrRefundWithdraw, ErrBankAccountName,
		// staff.go, anomaly.go
		ErrStaffLoginFailed, ErrStaffCredentials, ErrStaffLocked, ErrStaffExists, ErrRoleForbidden,
		ErrAnomalyResolved,
	}
}
