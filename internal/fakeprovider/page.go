package fakeprovider

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
)

// outboxTmpl renders the outbox; html/template escapes everything the messages
// carry, which is arbitrary client input.
var outboxTmpl = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>Dunwell fake providers — outbox</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; font-size: .9rem; }
th { background: #f3f3f3; }
pre { margin: 0; white-space: pre-wrap; }
.not_delivered, .undelivered { color: #b00; }
</style>
</head>
<body>
<h1>Outbox</h1>
<p>{{len .Messages}} message(s), newest first.{{if .Held}} {{.Held}} response(s) held.{{end}}
JSON: <a href="/_fake/outbox">/_fake/outbox</a>.</p>
<table>
<thead><tr><th>#</th><th>Received</th><th>Provider</th><th>To</th><th>From</th><th>Subject / body</th><th>Args</th><th>Status</th><th>ID</th></tr></thead>
<tbody>
{{range .Messages}}<tr>
<td>{{.Seq}}</td>
<td>{{.Received.Format "2006-01-02 15:04:05Z07:00"}}</td>
<td>{{.Provider}}</td>
<td>{{if .ToName}}{{.ToName}} &lt;{{.To}}&gt;{{else}}{{.To}}{{end}}</td>
<td>{{.From}}{{with .MessagingServiceSID}} {{.}}{{end}}</td>
<td>{{with .Subject}}<strong>{{.}}</strong>{{end}}{{with .TemplateID}}<em>dynamic template {{.}}</em>{{end}}<pre>{{.Text}}</pre>{{if eq .Provider "print"}}<div><a href="/_fake/letters/{{.ID}}.pdf">letter PDF</a> ({{with index .Attachments 0}}{{.Size}}{{end}} bytes)</div>{{else}}{{range .Attachments}}<div>attachment: {{.Filename}} ({{.Type}}, {{.Size}} bytes)</div>{{end}}{{end}}</td>
<td>{{range $k, $v := .CustomArgs}}{{$k}}={{$v}}<br>{{end}}</td>
<td class="{{.Status}}">{{.Status}}</td>
<td><code>{{.ID}}</code></td>
</tr>
{{else}}<tr><td colspan="9">Nothing sent yet.</td></tr>
{{end}}</tbody>
</table>
</body>
</html>
`))

func (s *Server) outboxPage(w http.ResponseWriter, _ *http.Request) {
	msgs := s.Outbox()
	slices.Reverse(msgs)
	var buf bytes.Buffer
	if err := outboxTmpl.Execute(&buf, map[string]any{"Messages": msgs, "Held": len(s.Held())}); err != nil {
		http.Error(w, "rendering outbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
