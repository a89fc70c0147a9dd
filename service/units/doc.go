// Package units is the employer half of 一厅联办 (businesses 1, 2, 4, 5, 7
// and 9 of the seed): units identified by their 统一社会信用代码, the people
// who act for them (the legal representative and the 办税员 they
// authorise), 参保登记, 增员 and 减员, the agency's monthly assessment
// (预处理数据) and the unit's declarations.
//
// Every workflow starts with ActsFor: a unit is reached only by someone
// acting for it, and anyone else is told the unit does not exist.
package units
