package sysdir

import (
	"path/filepath"
	"runtime"
	"testing"
)

// On Windows the answer is the known folder, an absolute path, whatever
// %ProgramData% says; internal/wintest checks the same under Wine with a
// misleading %ProgramData%.
func TestProgramData(t *testing.T) {
	t.Setenv("ProgramData", `D:\elsewhere`)
	got := ProgramData()
	if runtime.GOOS != "windows" {
		if got != "" {
			t.Fatalf("ProgramData() = %q outside Windows, want empty", got)
		}
		return
	}
	if !filepath.IsAbs(got) || got == `D:\elsewhere` {
		t.Fatalf("ProgramData() = %q, want the known folder, not %%ProgramData%%", got)
	}
}
