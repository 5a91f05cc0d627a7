package secretfile

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The DACL rules, on a model of the entries. Wine does not keep the DACLs
// Windows would (every file reads back with the same default), so these
// rules are proven here, on tables, and not under Wine.
func TestJudgeDACL(t *testing.T) {
	const owner = "S-1-5-21-1-2-3-1001"
	const stranger = "S-1-5-21-1-2-3-1002"
	full := uint32(0x1F01FF)
	cases := []struct {
		name  string
		owner string
		null  bool
		aces  []ace
		want  []string
	}{
		{"what picket setup writes", owner, false,
			[]ace{{allow: true, sid: sidSystem, mask: full}, {allow: true, sid: sidAdmins, mask: full}}, nil},
		{"owner may read", owner, false, []ace{{allow: true, sid: owner, mask: 0x120089}}, nil},
		{"no DACL at all", owner, true, nil, []string{"Everyone (the file has no DACL)"}},
		{"inherited from ProgramData: Users read", owner, false,
			[]ace{{allow: true, sid: sidSystem, mask: full}, {allow: true, sid: "S-1-5-32-545", mask: 0x1200A9}},
			[]string{"Users (S-1-5-32-545)"}},
		{"Everyone by GENERIC_READ", owner, false, []ace{{allow: true, sid: "S-1-1-0", mask: genericRead}}, []string{"Everyone (S-1-1-0)"}},
		{"Authenticated Users by GENERIC_ALL", owner, false, []ace{{allow: true, sid: "S-1-5-11", mask: genericAll}}, []string{"Authenticated Users (S-1-5-11)"}},
		{"another user", owner, false, []ace{{allow: true, sid: stranger, mask: fileReadData}}, []string{stranger}},
		{"write-only for a stranger", owner, false, []ace{{allow: true, sid: stranger, mask: 0x2}}, nil},
		{"inherit-only entries do not apply to the file", owner, false, []ace{{allow: true, inheritOnly: true, sid: "S-1-1-0", mask: full}}, nil},
		{"deny entries grant nothing", owner, false, []ace{{allow: false, sid: "S-1-1-0", mask: full}}, nil},
		{"a broad group as owner is no excuse", "S-1-5-32-545", false, []ace{{allow: true, sid: "S-1-5-32-545", mask: full}}, []string{"Users (S-1-5-32-545)"}},
	}
	for _, tc := range cases {
		if got := judgeDACL(tc.owner, tc.null, tc.aces); !slices.Equal(got, tc.want) {
			t.Errorf("%s: judgeDACL = %q, want %q", tc.name, got, tc.want)
		}
	}
	err := refuseDACL(`C:\ProgramData\picket\nsca.secret`, []string{"Users (S-1-5-32-545)"})
	if !strings.Contains(err.Error(), "readable by Users") || !strings.Contains(err.Error(), "icacls") {
		t.Errorf("refuseDACL says %q, want the reader and the fix", err)
	}
}

func TestCheckMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits mean nothing on Windows: TestJudgeDACL and internal/wintest cover it")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "nsca.secret")
	if err := os.WriteFile(p, []byte("pw\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err != nil {
		t.Fatalf("Check(0600) = %v", err)
	}
	if b, err := Read(p); err != nil || string(b) != "pw" {
		t.Fatalf("Read = %q, %v; want pw", b, err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err == nil || !strings.Contains(err.Error(), "chmod o-r") {
		t.Fatalf("Check(0644) = %v, want a refusal", err)
	}
	if err := Check(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Check(missing) = nil")
	}
}
