package config

import (
	"errors"
	"testing"

	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// FuzzParse: any file either loads or fails with *tomlfile.Error (never a panic),
// and what loads prints an effective config that loads again to the same
// checks.
func FuzzParse(f *testing.F) {
	f.Add([]byte("hostname = \"web01\"\n[[check]]\nservice = \"a\"\ncommand = \"check_dummy 0\"\ninterval = \"1m\"\n"))
	f.Add([]byte("hostname = \"h\"\n[defaults]\ntimeout_state = \"warn\"\n[[check]]\nservice = \"b\"\ncommand = \"x\"\ncron = \"CRON_TZ=UTC 0 6 * * *\"\n"))
	f.Add([]byte("hostname = \"h\"\n[macros]\nUSER2 = \"v\"\n[[check]]\nservice = \"c;\"\nintrval = 3\n"))
	f.Add([]byte("[[check]]\n[[check]]\nservice = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var ce *tomlfile.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *tomlfile.Error: %v", err, err)
			}
			return
		}
		out, err := c.Effective(true)
		if err != nil {
			t.Fatalf("Effective: %v", err)
		}
		again, err := Parse("effective.toml", out)
		if err != nil {
			t.Fatalf("effective config does not load: %v\n%s", err, out)
		}
		if len(again.Checks) != len(c.Checks) {
			t.Fatalf("effective config has %d checks, the original %d", len(again.Checks), len(c.Checks))
		}
		for i := range c.Checks {
			if again.Checks[i] != c.Checks[i] {
				t.Fatalf("check %d changed through the effective config:\n%+v\n%+v", i, c.Checks[i], again.Checks[i])
			}
		}
	})
}
