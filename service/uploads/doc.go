// Package uploads keeps the files people upload as materials of a case (a
// unit's 开户许可证 copy and 缴费凭证 for its refund): checked by content
// (PDF, JPEG or PNG, at most models.MaxUploadBytes), stored through the
// kernel's blob store (a folder on embedded defaults, an S3-compatible
// store in production) under a key lianban chooses, and described by an
// uploads row that names who uploaded it and, when it was uploaded for a
// unit, that unit.
//
// The bytes are personal data (names, account numbers), so the blob store
// only ever holds them sealed (models.PIICipher.SealBytes, bound to the
// blob key); the recorded size and sha256 are the plaintext's. An upload
// no application carries is purged after UnattachedUploadLife.
//
// The blob store is the one store of the bytes: migration 0009's
// upload_blobs table (bytes in the database) is not used, so a file is
// never in two places and the database stays small.
package uploads
