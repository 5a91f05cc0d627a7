package autoreg

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// FuzzRequest: any body through the handler and Register gets an answer,
// never a panic, and never a file outside the externals folder.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		reqJSON("web01"),
		reqJSON("db01"),
		`{"hostname":"../../etc/x","os":"linux"}`,
		`{"hostname":"a\u0000b","os":"linux"}`,
		`{"hostname":"db01","os":"linux","services":[{"service":"s","host":"h","interval_s":-1}]}`,
		`{"hostname":"db01","os":"linux","plugins":[{"name":"../x"}],"metadata":["\n"]}`,
		`{"hostname":"mail","os":"windows"}`,
		`[]`, `null`, `{}`, `{"hostname":"db01"}{}`, `"`,
		`{"hostname":"db01","os":"linux","public_key":"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
		`{"hostname":"db01","os":"linux","services":[{"service":"s","cron":"61 * * * *"}]}`,
	} {
		f.Add(seed)
	}
	s := newServer(f, HandlerOptions{})
	f.Fuzz(func(t *testing.T, body string) {
		w := s.post(body, "Bearer "+goodToken, "192.0.2.1:1")
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusInternalServerError:
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
		entries, err := os.ReadDir(s.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			switch e.Name() {
			case "profiles.toml", "base.toml", "web.toml", "broken.toml", "tokens", "registry.json", "externals":
			default:
				t.Fatalf("%q wrote %s outside the externals folder", body, e.Name())
			}
		}
	})
}

// FuzzProfiles: any profiles.toml loads or fails with problems, never a
// panic; a loaded one matches and renders without panicking.
func FuzzProfiles(f *testing.F) {
	for _, seed := range []string{
		testProfiles,
		"default = \"base\"\n",
		"templates_dir = \"..\"\ndefault = \"base\"\n",
		"[[rule]]\nprofile = \"web\"\nname = \"(\"\nos = \"x\"\nmetadata = [\"\", 1]\n",
		"default = \"../../etc/passwd\"\n",
		"[[rule]\n",
		"colour = 1\n[x]\ny = 2\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	for name, text := range map[string]string{
		"base.toml": baseTemplate, "web.toml": webTemplate, "broken.toml": brokenTemplate, "syntax.toml": "{{if}}",
	} {
		writeFile(f, filepath.Join(dir, name), text, 0o644)
	}
	path := filepath.Join(dir, "profiles.toml")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseProfiles(path, data)
		if err != nil {
			var ce *tomlfile.Error
			if !errors.As(err, &ce) && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, host := range []string{"web01", "db01"} {
			if prof, ok := p.Match(host, Request{OS: "linux", Metadata: []string{"web"}}); ok {
				p.Render(prof, host, Request{Hostname: host})
			}
		}
	})
}

// FuzzLoadAssignment: whatever is in the assignment file, the agent gets
// a safe host name or an error.
func FuzzLoadAssignment(f *testing.F) {
	f.Add(`{"host":"web01","profile":"base","status":"created"}`)
	f.Add(`{"host":"../x"}`)
	f.Add(`{`)
	path := filepath.Join(f.TempDir(), "assignment.json")
	f.Fuzz(func(t *testing.T, data string) {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := LoadAssignment(path)
		if err == nil && (!ValidHost(r.Host) || strings.Contains(r.Host, "/")) {
			t.Fatalf("loaded unsafe host %q", r.Host)
		}
	})
}
