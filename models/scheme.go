package models

// Scheme is an insurance scheme (险种): one a person can enrol in and pay
// for from a phone, or one a unit (employer) registers and pays for its
// staff (see unit.go).
type Scheme string

// The schemes individuals self-serve.
const (
	SchemeFlexiblePension Scheme = "flexible_pension" // 灵活就业人员企业职工基本养老保险, 社保
	SchemeFlexibleMedical Scheme = "flexible_medical" // 灵活就业人员职工基本医疗保险, 医保
	SchemeResidentPension Scheme = "resident_pension" // 城乡居民基本养老保险, 社保
	SchemeResidentMedical Scheme = "resident_medical" // 城乡居民基本医疗保险, 医保
)

// The schemes a unit registers for its staff (单位参保). Which unit type may
// register which is UnitType.MayRegister.
const (
	SchemeEnterprisePension  Scheme = "enterprise_pension"  // 企业职工基本养老保险, 社保
	SchemeEnterpriseMedical  Scheme = "enterprise_medical"  // 职工基本医疗保险（含生育保险）, 企业, 医保
	SchemeInstitutionPension Scheme = "institution_pension" // 机关事业单位工作人员基本养老保险, 社保
	SchemeInstitutionMedical Scheme = "institution_medical" // 职工基本医疗保险（含生育保险）, 机关事业单位, 医保
)

// Departments of the hall.
const (
	DeptSocialInsurance  = "social_insurance"  // 社保经办机构
	DeptMedicalInsurance = "medical_insurance" // 医保经办机构
	DeptTax              = "tax"               // 税务
)

// Schemes lists every scheme a person self-serves, in a stable order.
var Schemes = []Scheme{SchemeFlexiblePension, SchemeFlexibleMedical, SchemeResidentPension, SchemeResidentMedical}

// UnitSchemes lists every scheme a unit registers, in a stable order.
var UnitSchemes = []Scheme{SchemeEnterprisePension, SchemeEnterpriseMedical, SchemeInstitutionPension, SchemeInstitutionMedical}

// Valid reports whether s is a scheme a person self-serves. The unit
// schemes are not Valid here on purpose: every individual flow (enrolment,
// declaration, refund) checks Valid, and none of them may take a unit
// scheme. Use IsUnit for the unit flows and Known for either.
func (s Scheme) Valid() bool {
	switch s {
	case SchemeFlexiblePension, SchemeFlexibleMedical, SchemeResidentPension, SchemeResidentMedical:
		return true
	}
	return false
}

// IsUnit reports whether s is one of the schemes a unit registers.
func (s Scheme) IsUnit() bool {
	switch s {
	case SchemeEnterprisePension, SchemeEnterpriseMedical, SchemeInstitutionPension, SchemeInstitutionMedical:
		return true
	}
	return false
}

// Known reports whether s is any scheme lianban knows, personal or unit.
func (s Scheme) Known() bool { return s.Valid() || s.IsUnit() }

// Pension reports whether s is a pension scheme (the others are medical).
func (s Scheme) Pension() bool {
	switch s {
	case SchemeFlexiblePension, SchemeResidentPension, SchemeEnterprisePension, SchemeInstitutionPension:
		return true
	}
	return false
}

// Department is the agency that registers, assesses and books the scheme,
// and reviews its refunds.
func (s Scheme) Department() string {
	switch s {
	case SchemeFlexibleMedical, SchemeResidentMedical, SchemeEnterpriseMedical, SchemeInstitutionMedical:
		return DeptMedicalInsurance
	}
	return DeptSocialInsurance
}

// Monthly reports whether the scheme is paid by month (the flexible-worker
// and the unit schemes) rather than once per year (the resident schemes).
func (s Scheme) Monthly() bool {
	return s == SchemeFlexiblePension || s == SchemeFlexibleMedical || s.IsUnit()
}

// Name is the scheme's Chinese name, as printed on certificates.
func (s Scheme) Name() string {
	switch s {
	case SchemeFlexiblePension:
		return "灵活就业人员企业职工基本养老保险"
	case SchemeFlexibleMedical:
		return "灵活就业人员职工基本医疗保险"
	case SchemeResidentPension:
		return "城乡居民基本养老保险"
	case SchemeResidentMedical:
		return "城乡居民基本医疗保险"
	case SchemeEnterprisePension:
		return "企业职工基本养老保险"
	case SchemeInstitutionPension:
		return "机关事业单位工作人员基本养老保险"
	case SchemeEnterpriseMedical:
		return "企业职工基本医疗保险（含生育保险）"
	case SchemeInstitutionMedical:
		return "机关事业单位职工基本医疗保险（含生育保险）"
	}
	return string(s)
}

// Medical options for flexible_medical (API field medical_option).
const (
	MedicalCombined    = "combined"     // 统账结合
	MedicalPoolingOnly = "pooling_only" // 单建统筹
)
