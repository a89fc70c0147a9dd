// Package service is the façade of lianban's business workflows: it wires
// the areas below it into one Service for the handlers and runs the
// background workers.
//
// Where a rule lives:
//
//	kernel     what every area shares: Deps and Options, clock, database
//	           handles, ids, pages, idempotency keys, rate limits, the
//	           identity-check budget, in-app messages and pushes, audit
//	           writing, anomaly recording, the decrypted Person
//	people     login and sessions, identity binding, family, grants,
//	           guardians, and who may pay for or read whose records;
//	           real names a login channel vouches for (channel_login.go:
//	           the 蒙速办 state and nonce, issued here and used once;
//	           single-use credentials such as the tax APP token)
//	hall       staff accounts, staff login (password, TOTP), permissions,
//	           the audit log
//	contrib    contributions: enrolment, payables, declarations, payments,
//	           settlement (paid → credited → booked, exactly once),
//	           records, order follow-up, reminders
//	reconcile  the channels' daily bills checked against our orders
//	certs      certificates: issuing, listing, downloading, verifying,
//	           revoking
//	refunds    refund applications: filing, owners, withdrawal, the
//	           hall's steps
//	payouts    refund money going back: payouts by channel or bank,
//	           abnormal payouts, refund notifications, the automatic
//	           refund of paid orders that cannot be booked
//	anomalies  the staff's queue of anomalies, and every order's anomalies
//	units      employers: binding by the legal representative, 办税员,
//	           参保登记, 增员/减员 (units/roster reads CSV and XLSX),
//	           预处理数据, declarations and corrections
//	unitpay    a unit's payments (三方协议 debit, 银行端凭证, hall POS),
//	           settled through contrib's steps into employees' records
//	uploads    uploaded materials: checked by content, sealed, kept in
//	           the blob store, purged when never attached
//	unitrefunds  a unit's refund applications, on refunds' staff path
//	partners   the counter API's partners and keys (admin), the check of
//	           every signed /partner/v1 request (signature, clock window,
//	           single-use nonce) and the record of every partner call
//	counters   the partner API's money side (banks' counters, 云POS,
//	           裕农通, the hall's POS): look-ups, counter orders, confirm
//	           through the ordinary settlement, 冲正, the partners' daily
//	           reconciliation; the hall's window payments with consent
//
// Imports only go down that list (people and hall both sit on the kernel;
// units sits on people, and the unit packages after it on the areas they
// name).
// Where a lower area must start something above it, it declares a small
// interface that New wires (contrib.AutoRefunder, met by payouts).
//
// Workflows own their transactions. They speak models types to handlers and
// channels, and store rows to the database; every status change is a
// conditional update that acts only when one row changed.
package service
