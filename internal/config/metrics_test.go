package config

import (
	"strings"
	"testing"
)

func TestMetricsSection(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // the problem, "line: field: text"; "" means valid
	}{
		{name: "absent is off", src: ``},
		{name: "empty listen is off", src: "[metrics]\nlisten = \"\"\n"},
		{name: "ipv4 loopback", src: "[metrics]\nlisten = \"127.0.0.1:9464\"\n"},
		{name: "other 127/8 address", src: "[metrics]\nlisten = \"127.0.0.2:9464\"\n"},
		{name: "ipv6 loopback", src: "[metrics]\nlisten = \"[::1]:9464\"\n"},
		{name: "localhost", src: "[metrics]\nlisten = \"localhost:9464\"\n"},
		{name: "remote allowed", src: "[metrics]\nlisten = \"0.0.0.0:9464\"\nallow_remote = true\n"},
		{name: "every interface", src: "[metrics]\nlisten = \":9464\"\n",
			want: `:3: metrics.listen: ":9464" is not a loopback address`},
		{name: "wildcard", src: "[metrics]\nlisten = \"0.0.0.0:9464\"\n",
			want: `:3: metrics.listen: "0.0.0.0:9464" is not a loopback address: use 127.0.0.1, [::1] or localhost, or set allow_remote = true`},
		{name: "lan address", src: "[metrics]\nallow_remote = false\nlisten = \"192.168.1.5:9464\"\n",
			want: `:4: metrics.listen: "192.168.1.5:9464" is not a loopback address`},
		{name: "host name", src: "[metrics]\nlisten = \"web01.example.com:9464\"\n",
			want: `:3: metrics.listen: "web01.example.com:9464" is not a loopback address`},
		{name: "no port", src: "[metrics]\nlisten = \"127.0.0.1\"\n",
			want: `:3: metrics.listen: "127.0.0.1" is not host:port`},
		{name: "port zero", src: "[metrics]\nlisten = \"127.0.0.1:0\"\n",
			want: `:3: metrics.listen: "127.0.0.1:0": the port must be a number from 1 to 65535`},
		{name: "port name", src: "[metrics]\nlisten = \"127.0.0.1:http\"\n",
			want: `:3: metrics.listen: "127.0.0.1:http": the port must be a number`},
		{name: "unknown key", src: "[metrics]\nlisten = \"127.0.0.1:9464\"\nport = 9464\n",
			want: `:4: metrics.port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("picket.toml", []byte("hostname = \"web01\"\n"+tc.src))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if on := strings.Contains(tc.src, "listen = \"") && !strings.Contains(tc.src, `listen = ""`); c.Metrics.On() != on {
					t.Errorf("On() = %v for %q", c.Metrics.On(), tc.src)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", c.Metrics)
			}
			if !strings.Contains(err.Error(), "picket.toml"+tc.want) {
				t.Errorf("error lacks %q:\n%v", tc.want, err)
			}
		})
	}
}

func TestEffectiveShowsMetrics(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "[metrics]\nlisten = \"\"\nallow_remote = false\n"},
		{"[metrics]\nlisten = \"127.0.0.1:9464\"\n", "[metrics]\nlisten = \"127.0.0.1:9464\"\nallow_remote = false\n"},
	} {
		c, err := Parse("picket.toml", []byte("hostname = \"web01\"\n"+tc.src))
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Effective(false)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("effective config of %q lacks %q:\n%s", tc.src, tc.want, out)
		}
		if _, err := Parse("effective.toml", out); err != nil {
			t.Errorf("effective config does not load again: %v", err)
		}
	}
}
