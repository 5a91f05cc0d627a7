package plugins

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/secrets"
)

// ErrUndefinedMacro is wrapped by the error for a $NAME$ token that names no
// macro, so callers can tell a config mistake from a missing plugin.
var ErrUndefinedMacro = errors.New("undefined macro")

// expandMacros replaces Nagios macros in s: $NAME$, with NAME made of
// A-Z, 0-9 and _, becomes its value, and $$ becomes a single $. A $ that does
// not start such a token stays as it is, so regular expressions in plugin
// arguments ('^up$') survive. A well-formed token naming no macro is an
// error rather than being left in place, because a plugin handed a literal
// "$ARG1$" fails in ways much harder to trace back to the config.
func expandMacros(s string, macros map[string]string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		end := strings.IndexByte(s[i+1:], '$')
		if end < 0 || !isMacroName(s[i+1:i+1+end]) && !isSecretToken(s[i+1:i+1+end]) {
			b.WriteByte('$')
			i++
			continue
		}
		name := s[i+1 : i+1+end]
		v, ok := macros[name]
		if !ok {
			return "", fmt.Errorf("%w $%s$ in command", ErrUndefinedMacro, name)
		}
		b.WriteString(v)
		i += end + 2
	}
	return b.String(), nil
}

// secretPrefix starts a token naming a local secret: $SECRET:db$.
const secretPrefix = "SECRET:"

func isSecretToken(s string) bool {
	name, ok := strings.CutPrefix(s, secretPrefix)
	return ok && secrets.ValidName(name)
}

// secretEnv is the environment variable a referenced secret is also
// given in, for plugins that can read it there and keep it out of the
// process list: $SECRET:db.password$ is PICKET_SECRET_DB_PASSWORD.
func secretEnv(name string) string {
	return "PICKET_SECRET_" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}

func isMacroName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isUserMacro reports whether name is one of Nagios' $USERn$ resource
// macros, which are also exported to the plugin's environment.
func isUserMacro(name string) bool {
	digits, ok := strings.CutPrefix(name, "USER")
	if !ok || digits == "" {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// macros returns every macro a command of c may use. The check's own
// macros (from its externals file) and then the configured ones may
// override $USER1$ (an explicit setting beats the implied one); configured
// macros win over the check's, as the host's own file has the last word on
// its paths and secrets. Neither may override the per-check ones: a
// check's host name is not a site-wide setting.
func (r *Runner) macros(c check.Check) map[string]string {
	m := make(map[string]string, len(r.cfg.Macros)+4)
	if len(r.cfg.Dirs) > 0 {
		m["USER1"] = r.cfg.Dirs[0]
	}
	c.Macros.Each(func(k, v string) { m[k] = v })
	for k, v := range r.cfg.Macros {
		m[k] = v
	}
	m["HOSTNAME"] = c.Host
	m["HOSTADDRESS"] = c.HostAddress
	m["SERVICEDESC"] = c.Service
	for _, name := range r.cfg.Secrets.Names() {
		m[secretPrefix+name], _ = r.cfg.Secrets.Lookup(name)
	}
	return m
}

// secretsEnv gives each secret command refers to in its environment
// variable too.
func (r *Runner) secretsEnv(command string, extra map[string]string) {
	for _, name := range r.cfg.Secrets.Names() {
		if strings.Contains(command, "$"+secretPrefix+name+"$") {
			extra[secretEnv(name)], _ = r.cfg.Secrets.Lookup(name)
		}
	}
}

// environment returns base with the NAGIOS_* variables Nagios exports when
// enable_environment_macros is on, plus extra, each replacing an entry of
// the same name.
func environment(base []string, c check.Check, macros map[string]string, extra map[string]string) []string {
	set := map[string]string{
		"NAGIOS_HOSTNAME":    c.Host,
		"NAGIOS_HOSTADDRESS": c.HostAddress,
		"NAGIOS_SERVICEDESC": c.Service,
	}
	for name, v := range macros {
		if isUserMacro(name) {
			set["NAGIOS_"+name] = v
		}
	}
	for k, v := range extra {
		set[k] = v
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)

	env := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !overridden(k, names) {
			env = append(env, kv)
		}
	}
	for _, k := range names {
		env = append(env, k+"="+set[k])
	}
	return env
}

func overridden(key string, names []string) bool {
	for _, n := range names {
		if envKeyEqual(key, n) {
			return true
		}
	}
	return false
}

// lookupEnv finds key in env the way the platform compares names.
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		k, v, _ := strings.Cut(env[i], "=")
		if envKeyEqual(k, key) {
			return v, true
		}
	}
	return "", false
}
