package secretfile

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Read reads a secret file, dropping one trailing line ending (as editors
// and `echo` leave).
func Read(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return b, nil
}

// ace is one access-control entry of a Windows DACL, as much of it as the
// judgement needs. It is a plain model so the rules are tested on every OS;
// secretfile_windows.go fills it from the real DACL.
type ace struct {
	allow       bool   // ACCESS_ALLOWED, else a deny entry
	inheritOnly bool   // applies to children only, not to this file
	sid         string // in string form, e.g. S-1-1-0
	mask        uint32
}

// Access rights that let a SID read the file's contents.
const (
	fileReadData = 0x1
	genericAll   = 0x10000000
	genericRead  = 0x80000000
	readRights   = fileReadData | genericAll | genericRead
)

// Well-known SIDs.
const (
	sidSystem = "S-1-5-18"
	sidAdmins = "S-1-5-32-544"
)

// sidNames names the groups a misconfigured secret is most often readable
// by, for the error message.
var sidNames = map[string]string{
	"S-1-1-0":      "Everyone",
	"S-1-5-11":     "Authenticated Users",
	"S-1-5-32-545": "Users",
	"S-1-5-32-546": "Guests",
	"S-1-5-4":      "INTERACTIVE",
	"S-1-5-7":      "ANONYMOUS LOGON",
}

// broad SIDs stand for many accounts: even as the owner they may not read.
func broad(sid string) bool { _, ok := sidNames[sid]; return ok }

// judgeDACL returns the readers a secret must not have. nullDACL means the
// file has no DACL at all, which grants everyone everything. Deny entries
// are not weighed against allow entries: an allow entry for a stranger is
// a mistake worth fixing even where a deny entry happens to mask it.
func judgeDACL(owner string, nullDACL bool, aces []ace) []string {
	if nullDACL {
		return []string{"Everyone (the file has no DACL)"}
	}
	var bad []string
	for _, a := range aces {
		if !a.allow || a.inheritOnly || a.mask&readRights == 0 {
			continue
		}
		if a.sid == sidSystem || a.sid == sidAdmins || (a.sid == owner && !broad(owner)) {
			continue
		}
		name := a.sid
		if n, ok := sidNames[a.sid]; ok {
			name = n + " (" + a.sid + ")"
		}
		bad = append(bad, name)
	}
	return bad
}

func refuseDACL(path string, bad []string) error {
	return fmt.Errorf("%s is readable by %s: allow only SYSTEM, Administrators and its owner (icacls %q /inheritance:r /grant:r SYSTEM:F Administrators:F)",
		path, strings.Join(bad, ", "), path)
}
