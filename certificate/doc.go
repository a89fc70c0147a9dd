// Package certificate turns an issued models.Certificate into a PDF a bank
// or an employer can read and check, and provides the integrity pieces
// around it: the signature over the certificate's canonical content and the
// verification code printed on it.
//
// A certificate names a person (masked) or, for a unit's 税收完税证明, the
// unit (its full name and USCC, with per-scheme monthly lines of headcount,
// unit part and personal part). Renderer.RenderVoucher draws the other
// document a unit gets: the 银行端缴税凭证 (models.BankVoucher) it takes to
// any partner bank's counter, with the voucher number as a QR code. A
// voucher is a payment slip, not a certificate: it is neither signed nor
// verifiable here; the bank checks the number against lianban.
//
// The PDF is A4, drawn with gopdf in LXGW WenKai, a TrueType CJK font
// embedded in the binary (see fonts/README.md and fonts/OFL.txt); each PDF
// carries a font of only the glyphs it uses, renumbered (subset.go). A name with a character the
// font lacks is refused with models.ErrCertificateGlyphMissing rather than
// printed with a blank. Personal data is printed masked on every kind of
// document: the PDF leaves our control, and a verifier needs no more.
//
// A Renderer parses the font once and is safe for concurrent use; create
// one per process. Rendering lays each document out twice: once to learn
// its characters, once with the font built for them.
//
// Issuing a certificate, in the workflow that owns the transaction:
//
//  1. build the masked names and call Renderer.CheckPrintable on each, so
//     a name that cannot be printed is refused before anything is stored;
//  2. no := models.NewCertificateNo(kind, now) and
//     code, err := NewVerifyCode(secret, no);
//  3. fill a models.Certificate (IssuedAt to the second) and Validate it;
//  4. sig, err := signer.Sign(c.Canonical()); store the certificate with
//     sig, signer.Algorithm() and signer.KeyID(), never to be changed
//     (draw a new number if the unique index on it refuses);
//  5. Render when the PDF is downloaded: the same certificate always gives
//     the same bytes, so they may also be stored or cached.
package certificate
