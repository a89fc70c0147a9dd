package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/locale"
)

//go:embed h5 console assets
var files embed.FS

// Config wires the pages.
type Config struct {
	// Locale gives the pages their strings.
	Locale *locale.Catalog
	// Sandbox says the server runs on sandbox channels; the pages show it
	// and offer the sandbox login.
	Sandbox bool
}

// CSP is the pages' Content-Security-Policy. Scripts, styles, fonts and
// API calls only from this origin; no inline script or style attribute
// can run, so an injected string stays text; images may be data: URLs
// (the QR code of a certificate); nothing may frame a page (clickjacking
// a payment button).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// SecurityHeaders are set on every page and asset.
func SecurityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Pages change with every release and are small: always revalidate.
	h.Set("Cache-Control", "no-cache")
	c.Next()
}

// MengsubanCallback is the H5's path, under /h5, that 蒙速办's sign-in
// returns to: LIANBAN_MENGSUBAN_REDIRECT_URIS names it as
// $LIANBAN_PUBLIC_URL/h5/mengsuban/callback.
const MengsubanCallback = "/mengsuban/callback"

// Register mounts /h5/, /console/ and /assets/ on r.
func Register(r *gin.Engine, cfg Config) {
	pages := r.Group("", SecurityHeaders)
	serve := func(prefix string) {
		sub, err := fs.Sub(files, prefix)
		if err != nil {
			panic(err) // the embed pattern names the directory
		}
		h := http.StripPrefix("/"+prefix+"/", http.FileServer(http.FS(sub)))
		pages.GET("/"+prefix, func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/"+prefix+"/") })
		pages.GET("/"+prefix+"/*file", func(c *gin.Context) {
			f := c.Param("file")
			// Directory listings would show nothing secret, but a page
			// is a file: "/h5/" is its index.html, any other directory 404s.
			if strings.HasSuffix(f, "/") && f != "/" {
				c.Status(http.StatusNotFound)
				return
			}
			if prefix == "h5" && f == MengsubanCallback {
				// 蒙速办 sends the person back here (a redirect URI is a
				// path of its own, registered with the provider): the H5
				// itself, which finishes the login (account.js).
				r := c.Request.Clone(c.Request.Context())
				r.URL.Path, r.URL.RawPath = "/h5/", ""
				c.Header("Content-Type", "text/html; charset=utf-8")
				c.Header("Cache-Control", "no-store") // its address carries a one-time code
				h.ServeHTTP(c.Writer, r)
				return
			}
			if f == "/" || path.Ext(f) == ".html" {
				c.Header("Content-Type", "text/html; charset=utf-8")
			}
			h.ServeHTTP(c.Writer, c.Request)
		})
	}
	serve("h5")
	serve("console")
	assets, _ := fs.Sub(files, "assets")
	ah := http.StripPrefix("/assets/", http.FileServer(http.FS(assets)))
	pages.GET("/assets/*file", func(c *gin.Context) {
		f := c.Param("file")
		if i18nFile, ok := strings.CutPrefix(f, "/i18n/"); ok {
			// The page strings of one language, from the same catalog as
			// the API's error messages.
			name, ok := strings.CutSuffix(i18nFile, ".json")
			lang := locale.Match(name, "")
			if !ok || string(lang) != name {
				c.Status(http.StatusNotFound)
				return
			}
			c.JSON(http.StatusOK, cfg.Locale.Strings(lang, "common.", "h5.", "console.", "error."))
			return
		}
		if strings.HasSuffix(f, "/") {
			c.Status(http.StatusNotFound)
			return
		}
		ah.ServeHTTP(c.Writer, c.Request)
	})
}

// IsPage reports whether a route path is one of the pages' (not the API's,
// which miniprogram-api.yaml describes).
func IsPage(routePath string) bool {
	for _, p := range []string{"/h5", "/console", "/assets"} {
		if routePath == p || strings.HasPrefix(routePath, p+"/") {
			return true
		}
	}
	return false
}
