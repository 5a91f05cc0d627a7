//go:build unix

package plugins

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/secrets"
)

// $SECRET:name$ reaches the plugin as an argument and in its environment;
// wherever the plugin prints it, the result says ******** instead, and so
// does the argv Command shows.
func TestSecrets(t *testing.T) {
	dir := pluginDir(t, "fake_exit", "fake_env")
	sec := secrets.New(map[string]string{"db.pass": "hunter2-db", "other": "unused-one"})
	r := NewRunner(Config{Dirs: []string{dir}, Secrets: sec, Env: []string{"PATH=/usr/bin:/bin"}})

	c := check.Check{Host: "web01", Service: "db", Command: "fake_env --password=$SECRET:db.pass$"}
	rep := envOf(t, runGuarded(t, context.Background(), r, c, guard))
	if !slices.Equal(rep.Args, []string{"--password=hunter2-db"}) {
		t.Errorf("argv %q", rep.Args)
	}
	if rep.Env["PICKET_SECRET_DB_PASS"] != "hunter2-db" || rep.Env["PICKET_SECRET_OTHER"] != "" {
		t.Errorf("environment %v: want the referenced secret only", rep.Env)
	}
	argv, err := r.Command(c)
	if err != nil || strings.Contains(strings.Join(argv, " "), "hunter2") || argv[len(argv)-1] != "--password=********" {
		t.Errorf("Command = %q, %v", argv, err)
	}

	c.Command = "fake_exit 2 login failed for hunter2-db: wrong | 'hunter2-db'=1;hunter2-db"
	res := runGuarded(t, context.Background(), r, c, guard)
	all := res.PluginOutput()
	if strings.Contains(all, "hunter2") || !strings.Contains(all, "login failed for ********: wrong") {
		t.Errorf("a secret the plugin printed is in the result: %q", all)
	}

	c.Command = "fake_exit 0 $SECRET:nope$"
	res = runGuarded(t, context.Background(), r, c, guard)
	if res.State != check.Unknown || !strings.Contains(res.Output, "$SECRET:nope$") {
		t.Errorf("an undefined secret: %v %q", res.State, res.Output)
	}
	if _, err := r.Command(c); !errors.Is(err, ErrUndefinedMacro) {
		t.Errorf("Command with an undefined secret: %v", err)
	}
}
