package certs

import (
	"html/template"

	"github.com/lianban/lianban/models"
)

// newVerifyPage parses the page a person who scans a certificate's QR code
// sees: the same answer as the JSON, in words. html/template escapes
// everything.
func newVerifyPage() *template.Template {
	return template.Must(template.New("verify").Funcs(template.FuncMap{
		"yuan": func(f *models.Fen) string {
			if f == nil {
				return ""
			}
			return f.Yuan()
		},
		"fen":    func(f models.Fen) string { return f.Yuan() },
		"period": formatPeriod,
		"status": func(st string) string { return models.CertificateLine{Status: st}.StatusLabel() },
	}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>证明核验</title>
<style>body{font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em}
.valid{color:#0a7d32}.revoked,.unknown{color:#b3261e}.replaced{color:#8a5a00}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left}</style></head><body>
<h1>证明核验</h1>
{{if eq .Result "valid"}}<p class="valid"><strong>有效：</strong>该证明由本系统出具，内容未被篡改。</p>
{{else if eq .Result "revoked"}}<p class="revoked"><strong>已作废：</strong>该证明已被出具机关作废，请勿采信。</p>
{{else}}<p class="unknown"><strong>无法核验：</strong>证明编号或验证码不正确。请核对后重试，或向出具机关咨询。</p>{{end}}
{{if .ReplacedBy}}<p class="replaced"><strong>已补开：</strong>该证明已由证明 {{.ReplacedBy}} 补开替代，请以新证明为准。</p>{{end}}
{{if ne .Result "unknown"}}<table>
<tr><th>证明编号</th><td>{{.CertificateNo}}</td></tr>
<tr><th>证明种类</th><td>{{.Title}}</td></tr>
<tr><th>出具机关</th><td>{{.Authority}}</td></tr>
{{if .IssuedAt}}<tr><th>出具时间</th><td>{{.IssuedAt.Format "2006-01-02 15:04:05 MST"}}</td></tr>{{end}}
{{if .Unit}}<tr><th>缴费单位</th><td>{{.Unit.Name}}</td></tr>
<tr><th>统一社会信用代码</th><td>{{.Unit.USCC}}</td></tr>
{{else}}<tr><th>缴费人</th><td>{{.PersonNameMasked}}（{{.PersonIDNumberMasked}}）</td></tr>{{end}}
{{if .ReissueOf}}<tr><th>原证明编号</th><td>{{.ReissueOf}}（补开）</td></tr>{{end}}
{{if .SchemeName}}<tr><th>险种</th><td>{{.SchemeName}}</td></tr>{{end}}
{{if .PeriodFrom}}<tr><th>所属期</th><td>{{period .PeriodFrom}} 至 {{period .PeriodTo}}</td></tr>{{end}}
{{if .TotalFen}}<tr><th>合计金额</th><td>{{yuan .TotalFen}} 元</td></tr>{{end}}
</table>
{{if and .Lines .Unit}}<h2>明细</h2><table><tr><th>所属期</th><th>险种</th><th>人数</th><th>单位缴纳（元）</th><th>个人缴纳（元）</th><th>金额（元）</th><th>状态</th></tr>
{{range .Lines}}<tr><td>{{period .Period}}</td><td>{{.SchemeName}}</td><td>{{.Headcount}}</td><td>{{yuan .UnitFen}}</td><td>{{yuan .IndividualFen}}</td><td>{{fen .AmountFen}}</td><td>{{status .Status}}</td></tr>
{{end}}</table>{{else if .Lines}}<h2>明细</h2><table><tr><th>所属期</th><th>缴费基数（元）</th><th>金额（元）</th><th>状态</th></tr>
{{range .Lines}}<tr><td>{{period .Period}}</td><td>{{fen .BaseFen}}</td><td>{{fen .AmountFen}}</td><td>{{status .Status}}</td></tr>
{{end}}</table>{{end}}{{end}}
<p><small>个人信息已按规定隐藏部分内容。</small></p>
</body></html>`))
}

// formatPeriod renders "202611" as "2026年11月".
func formatPeriod(p string) string {
	if len(p) != 6 {
		return p
	}
	return p[:4] + "年" + p[4:] + "月"
}
