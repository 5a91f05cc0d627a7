package secretfile

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Check refuses a secret file whose DACL lets anyone but SYSTEM,
// Administrators and its owner read it.
func Check(path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("%s: read its access rules: %w", path, err)
	}
	owner := ""
	if sid, _, err := sd.Owner(); err == nil && sid != nil {
		owner = sid.String()
	}
	dacl, _, err := sd.DACL()
	if err != nil && err != windows.ERROR_OBJECT_NOT_FOUND {
		return fmt.Errorf("%s: read its DACL: %w", path, err)
	}
	aces, err := readACEs(dacl)
	if err != nil {
		return fmt.Errorf("%s: read its DACL: %w", path, err)
	}
	if bad := judgeDACL(owner, dacl == nil, aces); len(bad) > 0 {
		return refuseDACL(path, bad)
	}
	return nil
}

// readACEs turns a DACL into the model judgeDACL weighs. Entry types other
// than plain allow and deny (object and callback entries) do not occur on
// files; they are kept as allow entries, so that one of them can only make
// the check stricter.
func readACEs(acl *windows.ACL) ([]ace, error) {
	if acl == nil {
		return nil, nil
	}
	out := make([]ace, 0, acl.AceCount)
	for i := uint32(0); i < uint32(acl.AceCount); i++ {
		var a *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(acl, i, &a); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		sid := (*windows.SID)(unsafe.Pointer(&a.SidStart))
		out = append(out, ace{
			allow:       a.Header.AceType != windows.ACCESS_DENIED_ACE_TYPE,
			inheritOnly: a.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0,
			sid:         sid.String(),
			mask:        uint32(a.Mask),
		})
	}
	return out, nil
}
