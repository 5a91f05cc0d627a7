package autoreg

import "testing"

func TestUnquoteShell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`"Debian GNU/Linux 12 (bookworm)"`, "Debian GNU/Linux 12 (bookworm)"},
		{`'single quoted'`, "single quoted"},
		{`bare`, "bare"},
		{`"esc \"q\" \\ \$x"`, `esc "q" \ $x`},
		{`"`, `"`},
		{``, ``},
	} {
		if got := unquoteShell(c.in); got != c.want {
			t.Errorf("unquoteShell(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}
