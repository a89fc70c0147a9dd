package units

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/refunds"
)

// registerAfter registers uploads and unit refunds.
func (s *Handlers) registerAfter(auth, staffAuth *gin.RouterGroup) {
	auth.POST("/uploads", s.createUpload)
	auth.POST("/units/:unit_id/refunds", s.createUnitRefund)
	auth.GET("/units/:unit_id/refunds", s.listUnitRefunds)
	staffAuth.GET("/refunds/:refund_no/attachments/:upload_id", s.downloadRefundAttachment)
}

// multipartSlack is what a multipart body may carry besides the file: the
// boundaries, part headers and the unit_id field. The JSON body limit
// (httpx, 64 KiB) never applies here: this route reads its own body, and
// this bound is its only one.
const multipartSlack = 64 << 10

// uploadTime is how long an upload's body may take to arrive: 10 MB at
// about 300 kbit/s.
const uploadTime = 5 * time.Minute

var (
	errNotMultipart = models.ErrInvalid.WithReason("请以 multipart/form-data 上传，文件字段名为 file")
	errNoFile       = models.ErrInvalid.WithReason("缺少文件字段 file")
)

// createUpload takes one file (field file) and, optionally, the unit it is
// for (field unit_id). The body is read as a stream under a limit of the
// largest allowed file plus multipartSlack, so a client cannot make the
// server read more than that; the file is held in memory (at most 10 MB
// and one byte: enough to tell it is too large) until the service has
// checked it. Its name and declared type are ignored: the content decides.
func (s *Handlers) createUpload(c *gin.Context) {
	const limit = models.MaxUploadBytes + multipartSlack
	if c.Request.ContentLength > limit {
		s.Fail(c, models.ErrUploadTooLarge.WithReason("文件不能超过10MB，请压缩或分开上传"))
		return
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "multipart/form-data" {
		s.Fail(c, errNotMultipart)
		return
	}
	// The server's read timeout (30 s) suits JSON bodies, not 10 MB from a
	// phone on a slow network: this request may take longer, bounded in
	// size above. An error only means the writer cannot (a test recorder).
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(time.Now().Add(uploadTime))
	_ = rc.SetWriteDeadline(time.Now().Add(uploadTime + 30*time.Second))
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		s.Fail(c, errNotMultipart)
		return
	}
	var file *bytes.Buffer
	unitID := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.Fail(c, readError(err))
			return
		}
		switch part.FormName() {
		case "file":
			if file != nil {
				s.Fail(c, models.ErrInvalid.WithReason("一次只能上传一个文件"))
				return
			}
			file = &bytes.Buffer{}
			if _, err := io.Copy(file, io.LimitReader(part, models.MaxUploadBytes+1)); err != nil {
				s.Fail(c, readError(err))
				return
			}
			if _, err := io.Copy(io.Discard, part); err != nil {
				s.Fail(c, readError(err))
				return
			}
		case "unit_id":
			b, err := io.ReadAll(io.LimitReader(part, 65))
			if err != nil {
				s.Fail(c, readError(err))
				return
			}
			if len(b) > 64 {
				s.Fail(c, models.ErrInvalid.WithReason("unit_id 无效"))
				return
			}
			unitID = strings.TrimSpace(string(b))
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				s.Fail(c, readError(err))
				return
			}
		}
	}
	if file == nil {
		s.Fail(c, errNoFile)
		return
	}
	up, err := s.Svc.CreateUpload(c.Request.Context(), httpx.UserID(c), unitID, bytes.NewReader(file.Bytes()), int64(file.Len()))
	s.Render(c, http.StatusCreated, up, err)
}

// readError is what a broken or oversized multipart body answers.
func readError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return models.ErrUploadTooLarge.WithReason("文件不能超过10MB，请压缩或分开上传")
	}
	return models.ErrInvalid.WithReason("上传内容读取失败，请重试")
}

func (s *Handlers) createUnitRefund(c *gin.Context) {
	var in refunds.UnitRefundInput
	unitID := c.Param("unit_id")
	s.unitIdempotent(c, "createUnitRefund", &in, func() (int, any, error) {
		r, err := s.Svc.CreateUnitRefund(c.Request.Context(), httpx.UserID(c), unitID, in)
		return http.StatusCreated, r, err
	})
}

func (s *Handlers) listUnitRefunds(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListUnitRefunds(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), page)
	if err != nil {
		s.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_page_token": next})
}

// downloadRefundAttachment serves a file of an application to staff who
// may read it. It is served as a download with the type recorded when it
// was checked, never sniffed again by the browser.
func (s *Handlers) downloadRefundAttachment(c *gin.Context) {
	up, b, err := s.Svc.DownloadRefundAttachment(c.Request.Context(), httpx.StaffActor(c), c.Param("refund_no"), c.Param("upload_id"))
	if err != nil {
		s.Fail(c, err)
		return
	}
	ext := map[string]string{models.ContentTypePDF: ".pdf", models.ContentTypeJPEG: ".jpg", models.ContentTypePNG: ".png"}[up.ContentType]
	httpx.Download(c, up.ID+ext, up.ContentType, b)
}
