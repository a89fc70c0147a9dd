package models

// Scheme is an insurance scheme (险种) a person can enrol in and pay for
// from a phone.
type Scheme string

// The schemes individuals self-serve.
const (
	SchemeFlexiblePension Scheme = "flexible_pension" // 灵活就业人员企业职工基本养老保险, 社保
	SchemeFlexibleMedical Scheme = "flexible_medical" // 灵活就业人员职工基本医疗保险, 医保
	SchemeResidentPension Scheme = "resident_pension" // 城乡居民基本养老保险, 社保
	SchemeResidentMedical Scheme = "resident_medical" // 城乡居民基本医疗保险, 医保
)

// Departments of the hall.
const (
	DeptSocialInsurance  = "social_insurance"  // 社保经办机构
	DeptMedicalInsurance = "medical_insurance" // 医保经办机构
	DeptTax              = "tax"               // 税务
)

// Schemes lists every scheme in a stable order.
var Schemes = []Scheme{SchemeFlexiblePension, SchemeFlexibleMedical, SchemeResidentPension, SchemeResidentMedical}

// Valid reports whether s is a known scheme.
func (s Scheme) Valid() bool {
	switch s {
	case SchemeFlexiblePension, SchemeFlexibleMedical, SchemeResidentPension, SchemeResidentMedical:
		return true
	}
	return false
}

// Department is the agency that registers, assesses and books the scheme,
// and reviews its refunds.
func (s Scheme) Department() string {
	if s == SchemeFlexibleMedical || s == SchemeResidentMedical {
		return DeptMedicalInsurance
	}
	return DeptSocialInsurance
}

// Monthly reports whether the scheme is paid by month (the flexible-worker
// schemes) rather than once per year (the resident schemes).
func (s Scheme) Monthly() bool {
	return s == SchemeFlexiblePension || s == SchemeFlexibleMedical
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
	}
	return string(s)
}

// Medical options for flexible_medical (API field medical_option).
const (
	MedicalCombined    = "combined"     // 统账结合
	MedicalPoolingOnly = "pooling_only" // 单建统筹
)
