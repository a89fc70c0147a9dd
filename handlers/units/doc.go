// Package units serves the unit (employer) routes under /api/v1/units: the
// people acting for a unit, its 参保登记, employees, 预处理数据,
// declarations, payments, certificates and refunds, and uploads of
// materials. Every route that names a unit checks first that the caller
// acts for it (service/units.ActsFor).
package units
