package nagios

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ResultDir writes check results as files into Nagios' check_result_path,
// as the nsca daemon does when its nsca.cfg names one: each result is a
// file named "c" and six characters (the only names Nagios reads), followed
// by an empty "<name>.ok" marker once the file is complete, so Nagios never
// reads half a file. Nagios takes start_time as the check's time, and
// deletes without a word a file whose file_time is older than its
// max_check_result_file_age (3600 s by default), so file_time is when the
// file is written and start_time when the result was checked.
type ResultDir struct {
	Dir string
	now func() time.Time
}

// NewResultDir writes into dir, which must exist and be writable.
func NewResultDir(dir string) *ResultDir { return &ResultDir{Dir: dir, now: time.Now} }

// fileNameChars are those of mkstemp's names.
const fileNameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// Write writes one result checked at checked: a service result, or a host
// result when service is empty. It returns once both files exist.
func (d *ResultDir) Write(checked time.Time, host, service string, rc int, output string) error {
	now := d.now()
	var b strings.Builder
	fmt.Fprintf(&b, "### NSCA Passive Check Result ###\n# Time: %s\nfile_time=%d\n\n", now.UTC().Format(time.ANSIC), now.Unix())
	fmt.Fprintf(&b, "### picket server ###\nhost_name=%s\n", cutNewline(host))
	if service != "" {
		fmt.Fprintf(&b, "service_description=%s\n", cutNewline(service))
	}
	t := strconv.FormatFloat(float64(checked.UnixMicro())/1e6, 'f', 6, 64)
	fmt.Fprintf(&b, "check_type=1\ncheck_options=0\nscheduled_check=0\nreschedule_check=0\nlatency=0.000000\n"+
		"start_time=%s\nfinish_time=%s\nearly_timeout=0\nexited_ok=1\nreturn_code=%d\noutput=%s\n",
		t, t, rc, escapeOutput(output))
	f, err := d.create()
	if err != nil {
		return err
	}
	name := f.Name()
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		os.Remove(name)
		return fmt.Errorf("write check result file %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("write check result file %s: %w", name, err)
	}
	ok, err := os.OpenFile(name+".ok", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o660)
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("mark check result file %s complete: %w", name, err)
	}
	return ok.Close()
}

// create makes a new "cXXXXXX" file exclusively.
func (d *ResultDir) create() (*os.File, error) {
	var rnd [6]byte
	for range 100 {
		if _, err := rand.Read(rnd[:]); err != nil {
			return nil, err
		}
		name := []byte{'c'}
		for _, c := range rnd {
			name = append(name, fileNameChars[int(c)%len(fileNameChars)])
		}
		f, err := os.OpenFile(filepath.Join(d.Dir, string(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o660)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("check result file in %s: %w", d.Dir, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("check result file in %s: no free name after 100 tries", d.Dir)
}

// escapeOutput writes output on one line as Nagios reads it back: a
// backslash as "\\" and a line break as "\n".
func escapeOutput(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", "").Replace(s)
}
