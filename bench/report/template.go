package report

import "html/template"

// pageTemplate is the report page: inline CSS, no scripts, no external
// resources, so the file can be mailed or archived on its own.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #0072B2; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.1em; margin-top: 1.6em; }
.sub { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.meta th { width: 9em; }
.note { background: #fff6e0; border-left: 4px solid #E69F00; padding: 0.3em 0.6em; }
.floor { display: block; color: #777; font-size: 0.85em; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.4em 0; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
details { margin: 0.4em 0; }
summary { cursor: pointer; color: #0072B2; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sub">Generated {{.Generated}}. Each figure is a median over repeated runs with its 95% bootstrap interval; ratios compare a metric with its floor measured in the same run (1 = as fast as the floor).</p>
{{range .Records}}
<section>
<h2>{{.Name}}</h2>
<table class="meta">
{{range .Meta}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
{{if .Headline}}<h3>Headline</h3>
<table>
<tr><th>suite</th><th>metric</th><th>p50 [95% CI]</th><th>p99</th><th>ratio to floor [95% CI]</th></tr>
{{range .Headline}}<tr><td>{{.Suite}}</td><td>{{.Metric}}</td><td class="num">{{.P50}}</td><td class="num">{{.P99}}</td><td class="num">{{if .Ratio}}{{.Ratio}}{{else}}–{{end}}</td></tr>
{{end}}</table>{{end}}
{{range .Suites}}
<h3>Suite {{.Name}}</h3>
{{if .TSCKHz}}<p class="sub">Guest TSC {{.TSCKHz}} kHz.</p>{{end}}
<table>
<tr><th>metric</th><th>runs</th><th>samples</th><th>p50</th><th>95% CI of p50</th><th>p99</th><th>ratio to floor [95% CI]</th></tr>
{{range .Rows}}<tr><td>{{.Name}}{{if .Floor}}<span class="floor">floor: {{.Floor}}</span>{{end}}</td><td class="num">{{.Runs}}</td><td class="num">{{.N}}</td><td class="num">{{.P50}}</td><td class="num">{{.CI}}</td><td class="num">{{.P99}}</td><td class="num">{{.Ratio}}</td></tr>
{{end}}</table>
{{range .Tables}}<h4>{{.Title}}</h4>
<table>
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td class="num">{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{range .Notes}}<p class="note">Note: {{.}}</p>
{{end}}{{if .Config}}<details><summary>configuration</summary><pre>{{.Config}}</pre></details>{{end}}
{{end}}
{{with .Overhead}}
<h3>{{.Title}}</h3>
<img {{.Src}} alt="{{.Title}}: bar chart of ratios to floor with 95% intervals">
<p class="sub">Image file: {{.File}}</p>
{{end}}
{{range .Curves}}
<h3>{{.Title}}</h3>
<img {{.Src}} alt="{{.Title}}">
<p class="sub">{{if .Suite}}Suite {{.Suite}}. {{end}}Image file: {{.File}}</p>
<details><summary>data</summary>
<table>
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td class="num">{{.}}</td>{{end}}</tr>
{{end}}</table>
{{if .More}}<p class="sub">{{.More}} more rows in the record.</p>{{end}}
</details>
{{end}}
</section>
{{end}}
</body>
</html>
`))
