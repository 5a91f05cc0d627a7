package secretfile

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// setDACL gives path exactly the DACL of sddl and returns the DACL the
// system reports back, in SDDL.
func setDACL(t *testing.T, path, sddl string) string {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatalf("set DACL %s: %v", sddl, err)
	}
	back, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	return back.String()
}

// Check reads a real file's DACL. Where the file system keeps DACLs
// (Windows), a secret readable by Users is refused and one for SYSTEM and
// Administrators only is accepted. Where it does not (Wine, which reports
// the same DACL for every file), the test says so, and checks that Check
// judges the DACL the system does report as the table-tested rules do.
func TestCheckRealDACL(t *testing.T) {
	// Not t.TempDir: Wine 8 cannot run the POSIX-semantics delete that
	// os.RemoveAll uses on Windows; os.Remove (DeleteFile) it can.
	f, err := os.CreateTemp("", "nsca.secret-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := f.Name()
	t.Cleanup(func() { os.Remove(p) })
	private := setDACL(t, p, "D:P(A;;FA;;;SY)(A;;FA;;;BA)")
	privateErr := Check(p)
	open := setDACL(t, p, "D:P(A;;FA;;;SY)(A;;FR;;;BU)")
	openErr := Check(p)
	kept := strings.Contains(open, ";BU)") && !strings.Contains(private, ";BU)")
	if !kept {
		// Wine derives a file's DACL from its Unix mode and maps a DACL it
		// is given back to a mode that still lets others read: Everyone
		// may read every file it makes, and Check must say so.
		t.Logf("this system does not keep DACLs (Wine): set two, read back %q and %q; the rules for DACLs Windows keeps are proven by TestJudgeDACL only", private, open)
		if strings.Contains(private, ";;;WD)") && (privateErr == nil || openErr == nil || !strings.Contains(openErr.Error(), "Everyone")) {
			t.Fatalf("the reported DACL lets Everyone read, but Check said %v and %v", privateErr, openErr)
		}
		return
	}
	if privateErr != nil {
		t.Errorf("Check(SYSTEM and Administrators only) = %v", privateErr)
	}
	if openErr == nil || !strings.Contains(openErr.Error(), "Users (S-1-5-32-545)") {
		t.Errorf("Check(Users may read) = %v, want a refusal naming Users", openErr)
	}
}
