package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A local secret used by a plugin that prints it (as plugins do when a
// login fails): it reaches the plugin, and appears nowhere else: not in the
// agent's log at any level, not in the spool's files, not in what the real
// nsca wrote into Nagios' command file, not in picket config check or
// picket check -v, and `picket secret list` shows names only.
func TestSecretNeverLeavesThePlugin(t *testing.T) {
	const value = "Pa55-word-that-must-not-leak"
	e := newAgentEnv(t)
	secretsFile := filepath.Join(e.Dir, "secrets.toml")
	e.Settings = "secrets_file = " + quote(secretsFile) + "\n"
	writeFile(t, filepath.Join(e.DropIns, "check_login"), `#!/bin/sh
echo "LOGIN CRITICAL - refused $1 (env $PICKET_SECRET_DB_PASSWORD) | '$1'=1;$1"
echo "long output: password was $1"
exit 2
`, 0o755)
	e.write(t, `[[check]]
service = "login"
command = "check_login $SECRET:db.password$"
`)
	set := run(t, []byte(value+"\n"), picketBin, "secret", "set", "db.password", "--config", e.Config)
	if set.Code != 0 || strings.Contains(set.Stdout+set.Stderr, value) {
		t.Fatalf("picket secret set: %v", set)
	}
	if l := run(t, nil, picketBin, "secret", "list", "--config", e.Config); l.Code != 0 || strings.TrimSpace(l.Stdout) != "db.password" {
		t.Errorf("picket secret list: %v", l)
	}

	agent := e.start(t)
	r := e.waitResult(t, "login", is(2, "LOGIN CRITICAL - refused "))
	if !strings.Contains(r.Output, "refused ******** (env ********)") {
		t.Errorf("Nagios got %q: the plugin did not get the secret, or it was not masked", r.Output)
	}
	agent.Stop()

	cc := run(t, nil, picketBin, "config", "check", e.Config)
	ck := run(t, nil, picketBin, "check", "--config", e.Config, "-v", "login")
	places := map[string]string{
		"the agent's log (debug)": agent.Log.String(),
		"Nagios' command file":    readString(t, e.NSCA.CommandFile),
		"picket config check":     cc.Stdout + cc.Stderr,
		"picket check -v":         ck.Stdout + ck.Stderr,
		"the spool and state_dir": filesUnder(t, e.Dir, secretsFile),
	}
	for where, text := range places {
		if strings.Contains(text, value) {
			t.Errorf("the secret is in %s", where)
		}
	}
	if !strings.Contains(ck.Stdout, "check_login ********") {
		t.Errorf("picket check -v does not show the masked command line:\n%s", ck.Stdout)
	}
}

// filesUnder concatenates every file below dir but skip.
func filesUnder(t *testing.T, dir, skip string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == skip {
			return nil
		}
		data, _ := os.ReadFile(p)
		b.Write(data)
		return nil
	})
	return b.String()
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }
