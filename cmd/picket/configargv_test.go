package main

import "testing"

func TestArgvString(t *testing.T) {
	cases := []struct {
		argv []string
		want string
	}{
		{[]string{`C:\plugins\check_x.exe`, `-p`, `C:\temp\x`}, `['C:\plugins\check_x.exe', '-p', 'C:\temp\x']`},
		{[]string{`check`, `it's`, "two\nlines", "tab\there", ""}, `['check', "it's", "two\nlines", "tab\there", '']`},
	}
	for _, tc := range cases {
		if got := argvString(tc.argv); got != tc.want {
			t.Errorf("argvString(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}
