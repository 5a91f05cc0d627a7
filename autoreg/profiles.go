package autoreg

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// Profiles is a loaded profiles.toml: the rules that pick a host's profile
// and each profile's parsed template. It is immutable once loaded, so it
// is safe for concurrent use; a new file means a new Profiles.
type Profiles struct {
	file  string
	def   string
	rules []rule
	tmpls map[string]*template.Template
	// monitored is each profile's [profile.NAME] monitored_hosts: the
	// other hosts its agents may report for.
	monitored map[string]*regexp.Regexp
}

type rule struct {
	profile  string
	os       string
	name     *regexp.Regexp
	metadata []string
}

type profilesFile struct {
	TemplatesDir string                 `toml:"templates_dir"`
	Default      string                 `toml:"default"`
	Rules        []ruleSpec             `toml:"rule"`
	Profile      map[string]profileSpec `toml:"profile"`
}

// profileSpec is [profile.NAME]: what a profile allows besides its
// template.
type profileSpec struct {
	// MonitoredHosts is a regular expression the whole name of every
	// other host an agent of this profile reports for must match
	// (services it registers for them, externals it pulls for them).
	// Empty: its own host only.
	MonitoredHosts string `toml:"monitored_hosts"`
}

type ruleSpec struct {
	Profile  string   `toml:"profile"`
	OS       string   `toml:"os"`
	Name     string   `toml:"name"`
	Metadata []string `toml:"metadata"`
}

// maxRendered bounds a rendered externals file: nested template calls can
// grow output exponentially, and the server must not run out of memory
// over one misbehaving profile.
const maxRendered = 1 << 20

var profileRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// knownOS are the GOOS values an agent can report; a rule naming anything
// else is a typo that would silently never match.
var knownOS = []string{"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js",
	"linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows"}

// LoadProfiles reads profiles.toml and every template its rules and
// default name. All problems are reported at once, each with its file and
// line: unknown keys, bad regexps, profiles without a template, template
// syntax errors (located in the template file).
func LoadProfiles(path string) (*Profiles, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	return parseProfiles(path, data)
}

func parseProfiles(path string, data []byte) (*Profiles, error) {
	var f profilesFile
	var probs []tomlfile.Problem
	if err := tomlfile.Decode(path, data, &f); err != nil {
		var ce *tomlfile.Error
		if !errors.As(err, &ce) || !onlyUnknownKeys(ce) {
			return nil, err
		}
		// Unknown keys leave the rest decoded: go on, so the file is
		// fixed in one round.
		probs = append(probs, ce.Problems...)
	}
	add := func(field, msg string) {
		line := 0
		if field != "" {
			line = tomlfile.FieldLine(data, field)
		}
		probs = append(probs, tomlfile.Problem{File: path, Line: line, Field: field, Msg: msg})
	}

	p := &Profiles{file: path, def: f.Default, tmpls: map[string]*template.Template{}, monitored: map[string]*regexp.Regexp{}}
	dir := filepath.Dir(path)
	if f.TemplatesDir != "" {
		dir = f.TemplatesDir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(path), dir)
		}
	}
	dirOK := true
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dirOK = false
		field := "templates_dir"
		if f.TemplatesDir == "" {
			field = ""
		}
		add(field, fmt.Sprintf("templates folder %s: not a readable folder", dir))
	}

	// Profiles in order of first mention, each with where it was named.
	type mention struct{ name, field string }
	var wanted []mention
	want := func(name, field string) {
		if !profileRE.MatchString(name) {
			add(field, fmt.Sprintf("invalid profile name %q (letters, digits, '_' and '-' only)", name))
			return
		}
		if !slices.ContainsFunc(wanted, func(m mention) bool { return m.name == name }) {
			wanted = append(wanted, mention{name, field})
		}
	}
	if f.Default != "" {
		want(f.Default, "default")
	}
	for i, rs := range f.Rules {
		at := fmt.Sprintf("rule[%d]", i)
		r := rule{profile: rs.Profile, os: strings.ToLower(rs.OS), metadata: rs.Metadata}
		if rs.Profile == "" {
			add(at+".profile", "missing: the profile this rule assigns")
		} else {
			want(rs.Profile, at+".profile")
		}
		if r.os != "" && !slices.Contains(knownOS, r.os) {
			add(at+".os", fmt.Sprintf("unknown os %q (an agent reports Go's GOOS: linux, windows, darwin, freebsd, ...)", rs.OS))
		}
		if rs.Name != "" {
			re, err := regexp.Compile(rs.Name)
			if err != nil {
				add(at+".name", fmt.Sprintf("bad regexp: %v", err))
			}
			r.name = re
		}
		for j, tag := range rs.Metadata {
			if strings.TrimSpace(tag) == "" {
				add(fmt.Sprintf("%s.metadata", at), fmt.Sprintf("tag %d is empty", j+1))
			}
		}
		p.rules = append(p.rules, r)
	}

	for _, name := range slices.Sorted(maps.Keys(f.Profile)) {
		at := "profile." + name
		want(name, at)
		if pat := f.Profile[name].MonitoredHosts; pat != "" {
			re, err := regexp.Compile(`^(?:` + pat + `)$`)
			if err != nil {
				add(at+".monitored_hosts", fmt.Sprintf("bad regexp: %v", err))
				continue
			}
			p.monitored[name] = re
		}
	}

	if dirOK {
		for _, m := range wanted {
			tpath := filepath.Join(dir, m.name+".toml")
			if filepath.Clean(tpath) == filepath.Clean(path) {
				add(m.field, fmt.Sprintf("profile %q would use %s itself as its template", m.name, filepath.Base(path)))
				continue
			}
			text, err := os.ReadFile(tpath)
			if err != nil {
				msg := fmt.Sprintf("profile %q: template %s: %v", m.name, tpath, err)
				if errors.Is(err, fs.ErrNotExist) {
					msg = fmt.Sprintf("unknown profile %q: no template %s", m.name, tpath)
				}
				add(m.field, msg)
				continue
			}
			t, err := template.New(m.name + ".toml").Option("missingkey=error").Funcs(templateFuncs(Request{})).Parse(string(text))
			if err != nil {
				probs = append(probs, templateProblem(tpath, err))
				continue
			}
			p.tmpls[m.name] = t
		}
	}
	if len(probs) > 0 {
		return nil, &tomlfile.Error{Problems: probs}
	}
	return p, nil
}

func onlyUnknownKeys(e *tomlfile.Error) bool {
	for _, p := range e.Problems {
		if p.Msg != "unknown key" {
			return false
		}
	}
	return len(e.Problems) > 0
}

// templateErrRE takes the line out of text/template's
// "template: NAME:LINE: message".
var templateErrRE = regexp.MustCompile(`^template: [^:]*:(\d+): (.*)$`)

func templateProblem(path string, err error) tomlfile.Problem {
	msg := err.Error()
	if m := templateErrRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return tomlfile.Problem{File: path, Line: line, Msg: m[2]}
	}
	return tomlfile.Problem{File: path, Msg: msg}
}

// Match picks the profile of a host: the first rule, in file order, whose
// conditions all hold, else the default. ok is false when nothing matches
// and there is no default.
func (p *Profiles) Match(host string, req Request) (profile string, ok bool) {
	for _, r := range p.rules {
		if r.os != "" && !strings.EqualFold(r.os, req.OS) {
			continue
		}
		if r.name != nil && !r.name.MatchString(host) {
			continue
		}
		if !hasAll(req.Metadata, r.metadata) {
			continue
		}
		return r.profile, true
	}
	return p.def, p.def != ""
}

// Has reports whether profile has a template: it was named by a rule,
// the default or a [profile.NAME] table.
func (p *Profiles) Has(profile string) bool {
	_, ok := p.tmpls[profile]
	return ok
}

// MayReportFor reports whether an agent of profile may report for host,
// another host than its own: its [profile.NAME] monitored_hosts matches
// the whole name.
func (p *Profiles) MayReportFor(profile, host string) bool {
	re := p.monitored[profile]
	return re != nil && re.MatchString(host)
}

// MonitoredHosts is profile's monitored_hosts pattern, for messages.
func (p *Profiles) MonitoredHosts(profile string) string {
	if re := p.monitored[profile]; re != nil {
		s := re.String()
		return s[len("^(?:") : len(s)-len(")$")]
	}
	return ""
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// templateData is what a profile template sees.
type templateData struct {
	Host         string // the assigned name
	FQDN         string
	OS           string
	OSVersion    string
	Arch         string
	Address      string // first address, or the host name
	Addresses    []string
	AgentVersion string
	Metadata     []string
	Plugins      []Plugin
}

// Render executes profile's template for host with the agent's facts.
func (p *Profiles) Render(profile, host string, req Request) ([]byte, error) {
	t, ok := p.tmpls[profile]
	if !ok {
		return nil, fmt.Errorf("render: unknown profile %q", profile)
	}
	// Funcs are bound per render, since has and plugin answer about this
	// request; the loaded template itself is never executed, so it can
	// be cloned concurrently.
	c, err := t.Clone()
	if err != nil {
		return nil, fmt.Errorf("render profile %q: %w", profile, err)
	}
	c.Funcs(templateFuncs(req))
	addr := host
	if len(req.Addresses) > 0 {
		addr = req.Addresses[0]
	}
	d := templateData{
		Host: host, FQDN: req.FQDN, OS: req.OS, OSVersion: req.OSVersion, Arch: req.Arch,
		Address: addr, Addresses: req.Addresses, AgentVersion: req.AgentVersion,
		Metadata: req.Metadata, Plugins: req.Plugins,
	}
	w := &cappedBuffer{max: maxRendered}
	if err := c.Execute(w, d); err != nil {
		return nil, fmt.Errorf("render profile %q for %s: %w", profile, host, err)
	}
	return w.Bytes(), nil
}

func templateFuncs(req Request) template.FuncMap {
	return template.FuncMap{
		"has": func(tag string) bool { return slices.Contains(req.Metadata, tag) },
		"plugin": func(name string) bool {
			return slices.ContainsFunc(req.Plugins, func(p Plugin) bool { return p.Name == name })
		},
		"quote": tomlQuote,
	}
}

// tomlQuote renders s as a TOML basic string, so a fact the agent sent
// (it chose every byte of it) cannot break out of the string it is put in.
func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var errTooLarge = fmt.Errorf("rendered file larger than %d bytes", maxRendered)

type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, errTooLarge
	}
	return c.Buffer.Write(p)
}
