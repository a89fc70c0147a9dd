package kernel

import (
	"github.com/lianban/lianban/certificate"
)

// CertificateDeps are what issuing certificates needs: the renderer (font
// parsed once per process), the signer of canonical content, and the
// secret verification codes are derived from.
type CertificateDeps struct {
	Renderer     *certificate.Renderer
	Signer       certificate.Signer
	VerifySecret []byte
}
