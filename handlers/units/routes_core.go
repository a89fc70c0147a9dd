package units

import (
	"errors"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/service/units/roster"
)

// Body limits of 增员: a roster file (roster.MaxFileBytes) with the
// multipart framing around it, and the JSON form of a roster's rows (about
// 120 bytes a row in roster.MaxRows rows).
const (
	maxRosterUpload = roster.MaxFileBytes + 64<<10
	maxRosterJSON   = 2 << 20
)

// registerCore registers binding, operators, 参保登记, employees,
// 预处理数据 and declarations.
func (s *Handlers) registerCore(auth *gin.RouterGroup) {
	auth.GET("/units", s.listUnits)
	auth.POST("/units", s.bindUnit)
	auth.GET("/units/:unit_id/operators", s.listUnitOperators)
	auth.POST("/units/:unit_id/operators", s.addUnitOperator)
	auth.DELETE("/units/:unit_id/operators/:operator_id", s.removeUnitOperator)
	auth.POST("/units/:unit_id/registrations", s.registerUnitScheme)
	auth.GET("/units/:unit_id/registrations", s.listUnitRegistrations)
	auth.GET("/units/:unit_id/employees", s.listEmployees)
	auth.POST("/units/:unit_id/employees", s.addEmployees)
	auth.DELETE("/units/:unit_id/employees/:employee_id", s.removeEmployee)
	auth.GET("/units/:unit_id/payables", s.getUnitPayables)
	auth.POST("/units/:unit_id/declarations", s.createUnitDeclaration)
	auth.GET("/units/:unit_id/declarations/:declaration_id", s.getUnitDeclaration)
}

func (s *Handlers) listUnits(c *gin.Context) {
	items, err := s.Svc.ListUnits(c.Request.Context(), httpx.UserID(c))
	s.Render(c, http.StatusOK, gin.H{"items": items}, err)
}

func (s *Handlers) bindUnit(c *gin.Context) {
	var in units.BindInput
	if !s.BindJSON(c, &in) {
		return
	}
	u, err := s.Svc.BindUnit(c.Request.Context(), httpx.UserID(c), in)
	s.Render(c, http.StatusCreated, u, err)
}

func (s *Handlers) listUnitOperators(c *gin.Context) {
	items, err := s.Svc.ListUnitOperators(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"))
	s.Render(c, http.StatusOK, gin.H{"items": items}, err)
}

func (s *Handlers) addUnitOperator(c *gin.Context) {
	var in units.OperatorInput
	if !s.BindJSON(c, &in) {
		return
	}
	o, err := s.Svc.AddUnitOperator(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), in)
	s.Render(c, http.StatusCreated, o, err)
}

func (s *Handlers) removeUnitOperator(c *gin.Context) {
	err := s.Svc.RemoveUnitOperator(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), c.Param("operator_id"))
	s.Render(c, http.StatusNoContent, nil, err)
}

func (s *Handlers) registerUnitScheme(c *gin.Context) {
	var in units.RegistrationInput
	if !s.BindJSON(c, &in) {
		return
	}
	r, err := s.Svc.RegisterUnitScheme(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), in)
	s.Render(c, http.StatusCreated, r, err)
}

func (s *Handlers) listUnitRegistrations(c *gin.Context) {
	items, err := s.Svc.ListUnitRegistrations(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"))
	s.Render(c, http.StatusOK, gin.H{"items": items}, err)
}

func (s *Handlers) listEmployees(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	items, next, err := s.Svc.ListEmployees(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), page)
	s.Render(c, http.StatusOK, gin.H{"items": items, "next_page_token": next}, err)
}

// addEmployees is 增员 from a JSON array of rows or a multipart roster
// file (field file, CSV or XLSX). Only this route takes bodies over the
// 64 KiB JSON limit; each form has its own bound.
func (s *Handlers) addEmployees(c *gin.Context) {
	ctx, user, unit := c.Request.Context(), httpx.UserID(c), c.Param("unit_id")
	// Who may add comes before what is added: a stranger learns nothing
	// about the unit from how a body is refused, and reads no megabytes.
	if _, err := s.Svc.ActsFor(ctx, user, unit); err != nil {
		s.Fail(c, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var res units.AddResult
	var err error
	switch mt {
	case "multipart/form-data":
		if c.Request.ContentLength > maxRosterUpload {
			s.Fail(c, models.ErrUploadTooLarge.WithReason("花名册文件不能超过5MB"))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxRosterUpload)
		fh, ferr := c.FormFile("file")
		if ferr != nil {
			var tooLarge *http.MaxBytesError
			if asMaxBytes(ferr, &tooLarge) {
				s.Fail(c, models.ErrUploadTooLarge.WithReason("花名册文件不能超过5MB"))
				return
			}
			s.Fail(c, models.ErrInvalid.WithReason("请在表单字段 file 中上传花名册（CSV 或 XLSX）"))
			return
		}
		if fh.Size > roster.MaxFileBytes {
			s.Fail(c, models.ErrUploadTooLarge.WithReason("花名册文件不能超过5MB"))
			return
		}
		f, ferr := fh.Open()
		if ferr != nil {
			s.Fail(c, models.ErrInvalid.WithReason("花名册文件读取失败"))
			return
		}
		defer f.Close()
		res, err = s.Svc.AddEmployeesFile(ctx, user, unit, f, roster.KindOf(fh.Filename, fh.Header.Get("Content-Type")))
	default:
		var in []roster.Input
		if !s.BindJSONArray(c, &in, maxRosterJSON) {
			return
		}
		res, err = s.Svc.AddEmployeesJSON(ctx, user, unit, in)
	}
	s.Render(c, http.StatusCreated, res, err)
}

func (s *Handlers) removeEmployee(c *gin.Context) {
	items, err := s.Svc.RemoveEmployee(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), c.Param("employee_id"), c.Query("to_period"))
	s.Render(c, http.StatusOK, gin.H{"items": items}, err)
}

func (s *Handlers) getUnitPayables(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	p, err := s.Svc.UnitPayables(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), c.Query("period"), page)
	s.Render(c, http.StatusOK, p, err)
}

func (s *Handlers) createUnitDeclaration(c *gin.Context) {
	var in units.DeclarationInput
	s.unitIdempotent(c, "unitDeclaration", &in, func() (int, any, error) {
		d, err := s.Svc.CreateUnitDeclaration(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), in)
		return http.StatusCreated, d, err
	})
}

func (s *Handlers) getUnitDeclaration(c *gin.Context) {
	page, err := httpx.PageOf(c)
	if err != nil {
		s.Fail(c, err)
		return
	}
	d, err := s.Svc.GetUnitDeclaration(c.Request.Context(), httpx.UserID(c), c.Param("unit_id"), c.Param("declaration_id"), page)
	s.Render(c, http.StatusOK, d, err)
}

// asMaxBytes reports whether err is (or wraps) the body limit's error.
func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }
