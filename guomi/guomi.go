// Package guomi is the 商用密码 (ShangMi) option of LIANBAN_CRYPTO=sm:
// SM4-GCM and HMAC-SM3 for personal data at rest (GB/T 32907, GB/T
// 32905), SM2 signatures for certificates (GB/T 32918) and SM3 for the
// HMAC of partner requests. It is the only package that imports the
// algorithm library (github.com/emmansun/gmsm), behind the interfaces the
// rest of the code already uses (models.PIISuite, certificate.Signer, a
// hash constructor), so the international default and the 国密 option run
// the same code above it.
package guomi

import (
	"crypto/cipher"
	"hash"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/lianban/lianban/models"
)

// SuiteName is the name SM4Suite writes into every value it seals.
const SuiteName = "sm4"

type sm4Suite struct{}

func (sm4Suite) Name() string { return SuiteName }

// KeySize is SM4's only key size, 128 bits.
func (sm4Suite) KeySize() int                              { return 16 }
func (sm4Suite) NewBlock(key []byte) (cipher.Block, error) { return sm4.NewCipher(key) }
func (sm4Suite) NewHash() hash.Hash                        { return sm3.New() }

// SM4Suite is the personal-data suite of the 国密 option: SM4 in GCM mode
// (GB/T 32907 block cipher, the mode of GB/T 36624) and HMAC-SM3 for
// working-key derivation and blind indexes.
func SM4Suite() models.PIISuite { return sm4Suite{} }

// NewSM3 returns an SM3 hash (GB/T 32905), for HMAC-SM3.
func NewSM3() hash.Hash { return sm3.New() }
