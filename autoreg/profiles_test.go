package autoreg

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/tomlfile"
)

const baseTemplate = `# {{.Host}} ({{.OSVersion}})
[[check]]
service = "ping"
command = "check_ping -H {{.Address}} -w 100,20% -c 500,60%"
interval = "5m"
`

// profileDir writes profiles.toml and templates (name to text) into a
// temporary folder and returns the path of profiles.toml.
func profileDir(t testing.TB, profiles string, templates map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range templates {
		writeFile(t, filepath.Join(dir, name), text, 0o644)
	}
	return writeFile(t, filepath.Join(dir, "profiles.toml"), profiles, 0o644)
}

func TestProfilesMatch(t *testing.T) {
	path := profileDir(t, `
templates_dir = "profiles"
default = "base"

[[rule]]
profile = "linux-web"
os = "Linux"
name = "^web[0-9]+"
metadata = ["web", "prod"]

[[rule]]
profile = "windows"
os = "windows"

[[rule]]
profile = "db"
name = "^db"
`, map[string]string{
		"profiles/base.toml": baseTemplate, "profiles/linux-web.toml": baseTemplate,
		"profiles/windows.toml": baseTemplate, "profiles/db.toml": baseTemplate,
	})
	p, err := LoadProfiles(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host     string
		os       string
		metadata []string
		want     string
	}{
		{"web01", "linux", []string{"prod", "web", "extra"}, "linux-web"},
		{"web01", "LINUX", []string{"web", "prod"}, "linux-web"}, // os is case-insensitive
		{"web01", "linux", []string{"web"}, "base"},              // every tag is needed
		{"web01", "windows", []string{"web", "prod"}, "windows"}, // os differs: next rule
		{"myweb01", "linux", []string{"web", "prod"}, "base"},    // the regexp is anchored by its author
		{"db01", "windows", nil, "windows"},                      // first match wins
		{"db01", "linux", nil, "db"},
		{"mail01", "darwin", nil, "base"}, // the default
	} {
		got, ok := p.Match(c.host, Request{OS: c.os, Metadata: c.metadata})
		if !ok || got != c.want {
			t.Errorf("Match(%s, %s, %v) = %q, %v; want %q", c.host, c.os, c.metadata, got, ok, c.want)
		}
	}

	// Without a default, a host no rule matches has no profile.
	path = profileDir(t, "[[rule]]\nprofile = \"base\"\nos = \"windows\"\n", map[string]string{"base.toml": baseTemplate})
	p, err = LoadProfiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := p.Match("web01", Request{OS: "linux"}); ok {
		t.Errorf("Match without default = %q, true; want no match", got)
	}
}

func TestProfilesLoadErrors(t *testing.T) {
	good := map[string]string{"base.toml": baseTemplate}
	for _, c := range []struct {
		name      string
		profiles  string
		templates map[string]string
		want      []string // each "line|text": a problem on that line of profiles.toml containing text; line "T3" is line 3 of a template
	}{
		{
			name:     "unknown key",
			profiles: "default = \"base\"\n\n[[rule]]\nprofile = \"base\"\nos_name = \"linux\"\n",
			want:     []string{"5|rule.os_name: unknown key"},
		},
		{
			name:     "bad regexp",
			profiles: "[[rule]]\nprofile = \"base\"\n\n[[rule]]\nprofile = \"base\"\nname = \"web[0-9\"\n",
			want:     []string{"6|rule[1].name: bad regexp"},
		},
		{
			name:     "rule names an unknown profile",
			profiles: "default = \"base\"\n[[rule]]\nprofile = \"web\"\n",
			want:     []string{`3|rule[0].profile: unknown profile "web": no template`},
		},
		{
			name:     "missing default template",
			profiles: "# comment\ndefault = \"nosuch\"\n",
			want:     []string{`2|default: unknown profile "nosuch": no template`},
		},
		{
			name:     "invalid profile name",
			profiles: "default = \"../base\"\n",
			want:     []string{`1|default: invalid profile name`},
		},
		{
			name:     "profiles.toml as its own template",
			profiles: "default = \"profiles\"\n",
			want:     []string{`1|default: profile "profiles" would use profiles.toml itself`},
		},
		{
			name:     "rule without profile",
			profiles: "default = \"base\"\n\n[[rule]]\nos = \"linux\"\n",
			want:     []string{"3|rule[0].profile: missing"},
		},
		{
			name:     "unknown os",
			profiles: "[[rule]]\nprofile = \"base\"\nos = \"linuxx\"\n",
			want:     []string{`3|rule[0].os: unknown os "linuxx"`},
		},
		{
			name:      "template syntax error",
			profiles:  "default = \"broken\"\n",
			templates: map[string]string{"broken.toml": "[[check]]\nservice = \"x\"\ncommand = \"{{if .Host}}\"\n"},
			want:      []string{"T4|unexpected EOF"}, // text/template places it after the last line
		},
		{
			name:      "template calls an unknown function",
			profiles:  "default = \"broken\"\n",
			templates: map[string]string{"broken.toml": "\n{{ nosuch .Host }}\n"},
			want:      []string{`T2|function "nosuch" not defined`},
		},
		{
			name:     "templates_dir missing",
			profiles: "templates_dir = \"nowhere\"\ndefault = \"base\"\n",
			want:     []string{"1|templates_dir: templates folder"},
		},
		{
			name:     "syntax error",
			profiles: "default = \"base\"\n[[rule]\n",
			want:     []string{"3|expected end of table array name"}, // the TOML reader sees it at the newline
		},
		{
			name:     "wrong type",
			profiles: "default = \"base\"\n[[rule]]\nprofile = \"base\"\nmetadata = \"web\"\n",
			want:     []string{"4|"},
		},
		{
			name: "every problem at once",
			profiles: `default = "base"
colour = "blue"

[[rule]]
profile = "web"
name = "("

[[rule]]
profile = "base"
os = "beos"
`,
			want: []string{"2|colour: unknown key", `5|rule[0].profile: unknown profile "web"`, "6|rule[0].name: bad regexp", `10|rule[1].os: unknown os`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			templates := c.templates
			if templates == nil {
				templates = good
			}
			path := profileDir(t, c.profiles, templates)
			_, err := LoadProfiles(path)
			var ce *tomlfile.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *tomlfile.Error", err, err)
			}
			if len(ce.Problems) != len(c.want) {
				t.Errorf("%d problems, want %d:\n%v", len(ce.Problems), len(c.want), err)
			}
			for _, w := range c.want {
				lineStr, text, _ := strings.Cut(w, "|")
				file := path
				if strings.HasPrefix(lineStr, "T") {
					lineStr = lineStr[1:]
					for name := range templates {
						file = filepath.Join(filepath.Dir(path), name)
					}
				}
				found := false
				for _, p := range ce.Problems {
					if p.File == file && lineStr == strconv.Itoa(p.Line) && strings.Contains(p.String(), text) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem at %s:%s containing %q in:\n%v", file, lineStr, text, err)
				}
			}
		})
	}
}

func TestProfilesRender(t *testing.T) {
	tmpl := `# {{.Host}} {{.FQDN}} {{.OS}} {{.OSVersion}} {{.Arch}} {{.Address}} {{.AgentVersion}}
# tags {{range .Metadata}}{{.}},{{end}} plugins {{range .Plugins}}{{.Name}},{{end}}
{{- if has "web"}}
[[check]]
service = "http"
command = "check_http -H {{.Address}}"
interval = "1m"
{{- end}}
{{- if plugin "check_mysql"}}
[[check]]
service = "mysql"
command = "check_mysql"
interval = "1m"
{{- end}}
[[check]]
service = "os"
command = {{quote .OSVersion}}
interval = "1h"
`
	path := profileDir(t, `default = "base"`, map[string]string{"base.toml": tmpl, "bad.toml": "{{.Nope}}"})
	p, err := LoadProfiles(path)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{
		FQDN: "web01.example.com", OS: "linux", OSVersion: `Debian "12"` + "\n", Arch: "amd64", AgentVersion: "1.0",
		Addresses: []string{"10.0.0.5", "fd00::5"}, Metadata: []string{"web", "prod"},
		Plugins: []Plugin{{Name: "check_http"}, {Name: "check_ping"}},
	}
	got, err := p.Render("base", "web01", req)
	if err != nil {
		t.Fatal(err)
	}
	want := `# web01 web01.example.com linux Debian "12"
 amd64 10.0.0.5 1.0
# tags web,prod, plugins check_http,check_ping,
[[check]]
service = "http"
command = "check_http -H 10.0.0.5"
interval = "1m"
[[check]]
service = "os"
command = "Debian \"12\"\u000A"
interval = "1h"
`
	if string(got) != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", got, want)
	}

	// No address: the host name stands in; no tags, no plugins.
	got, err = p.Render("base", "db01", Request{OS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "# db01  linux   db01 \n") || strings.Contains(string(got), "http") {
		t.Errorf("rendered without facts:\n%s", got)
	}

	if _, err := p.Render("nosuch", "web01", req); err == nil {
		t.Error("rendering an unknown profile succeeded")
	}
}

func TestProfilesRenderErrors(t *testing.T) {
	for _, c := range []struct{ name, tmpl, want string }{
		{"unknown field", "{{.Hostname}}", "can't evaluate field Hostname"},
		{"output too large", explosive(6), "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := LoadProfiles(profileDir(t, `default = "bad"`, map[string]string{"bad.toml": c.tmpl}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Render("bad", "web01", Request{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// explosive is a template whose output is 100 * 8^levels bytes: nested
// template calls multiply, which only the output cap stops.
func explosive(levels int) string {
	var b strings.Builder
	b.WriteString(`{{define "t0"}}` + strings.Repeat("x", 100) + `{{end}}`)
	for l := 1; l <= levels; l++ {
		b.WriteString(fmt.Sprintf(`{{define "t%d"}}`, l))
		for range 8 {
			b.WriteString(fmt.Sprintf(`{{template "t%d"}}`, l-1))
		}
		b.WriteString(`{{end}}`)
	}
	b.WriteString(fmt.Sprintf(`{{template "t%d"}}`, levels))
	return b.String()
}

func TestProfilesMonitoredHosts(t *testing.T) {
	path := profileDir(t, "default = \"base\"\n\n[profile.base]\nmonitored_hosts = \"router[0-9]+|printer1\"\n\n[profile.gw]\n",
		map[string]string{"base.toml": baseTemplate, "gw.toml": baseTemplate})
	p, err := LoadProfiles(path)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"router1": true, "printer1": true, "router": false, "xrouter1": false, "router1x": false, "printer12": false} {
		if got := p.MayReportFor("base", host); got != want {
			t.Errorf("MayReportFor(base, %s) = %v", host, got)
		}
	}
	if p.MayReportFor("gw", "router1") || !p.Has("gw") || p.MonitoredHosts("base") != "router[0-9]+|printer1" {
		t.Error("gw or the pattern")
	}
	for _, tt := range []struct{ file, want string }{
		{"[profile.base]\nmonitored_hosts = \"(\"\n", "profile.base.monitored_hosts: bad regexp"},
		{"[profile.nosuch]\n", `unknown profile "nosuch"`},
		{"[profile.base]\nhosts = \"x\"\n", "unknown key"},
	} {
		path := profileDir(t, tt.file, map[string]string{"base.toml": baseTemplate})
		if _, err := LoadProfiles(path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.file, err, tt.want)
		}
	}
}
