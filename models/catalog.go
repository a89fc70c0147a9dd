package models

// Service is one business (事项) of the 一厅联办 hall as the seed lists it,
// shown to people by listServices so they know who handles what, through
// which channels, with which materials and how fast. The content is data
// (catalog/services.yaml); Code is the stable key front ends link to.
type Service struct {
	Code           string     `json:"code" yaml:"code"`
	Department     string     `json:"department" yaml:"department"` // DeptSocialInsurance, DeptMedicalInsurance or DeptTax
	Name           string     `json:"name" yaml:"name"`
	Who            string     `json:"who" yaml:"who"`                         // 适用对象
	Ways           []string   `json:"ways" yaml:"ways"`                       // 办理方式: 现场办理, 网络办理, 掌上办理
	Channels       []string   `json:"channels" yaml:"channels"`               // 办理渠道
	Steps          []string   `json:"steps" yaml:"steps"`                     // 办理流程
	Materials      []Material `json:"materials" yaml:"materials"`             // 办理材料; empty when none are needed
	TimeLimit      string     `json:"time_limit" yaml:"time_limit"`           // 办理时限
	Conditions     []string   `json:"conditions" yaml:"conditions"`           // 申请条件
	ResultDelivery string     `json:"result_delivery" yaml:"result_delivery"` // 结果送达
	// OnlineSteps are the business's steps in this system, in order, each
	// naming the API operations (operationId) that do it; empty for a
	// business not built online. The seed has no such field: they are
	// always listed in Compiled.
	OnlineSteps []OnlineStep `json:"online_steps,omitempty" yaml:"online_steps"`
	// Compiled names the fields (by their API names) whose text is not the
	// seed's, because the seed leaves them empty (整理): a client can tell
	// the hall's published wording from ours.
	Compiled []string `json:"compiled,omitempty" yaml:"compiled"`
}

// OnlineStep is one step of a business done through this API.
type OnlineStep struct {
	Step       string   `json:"step" yaml:"step"`
	Operations []string `json:"operations" yaml:"operations"` // operationIds of miniprogram-api.yaml
}

// Material is a document to bring or upload, with the number of copies.
type Material struct {
	Name   string `json:"name" yaml:"name"`
	Copies int    `json:"copies" yaml:"copies"`
	Note   string `json:"note" yaml:"note"`
}

// Region is a 盟市 of Inner Mongolia: the unit the fee policy varies by.
type Region struct {
	Code string `json:"code" yaml:"code"` // GB/T 2260 code, e.g. 150100
	Name string `json:"name" yaml:"name"`
}
