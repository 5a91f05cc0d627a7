package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/picket-monitoring/picket/internal/atomicfile"
	"github.com/picket-monitoring/picket/internal/secretfile"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// Masked stands in for a secret's value wherever it would have appeared.
const Masked = "********"

// MinLength is the shortest value accepted: every occurrence of a value in
// plugin output is masked, and a shorter one ("1234") would mask ordinary
// numbers and words too.
const MinLength = 6

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// ValidName reports whether name can be a secret's name: a letter, then
// letters, digits, '_', '.' or '-', at most 64 in all.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Set is the secrets of one file. The zero value and nil hold none.
type Set struct {
	values map[string]string
	// longest first, so a value that contains another is masked whole
	byLength []string
}

// New makes a Set of values, which must be valid (see Check).
func New(values map[string]string) *Set {
	s := &Set{values: maps.Clone(values)}
	for _, v := range values {
		s.byLength = append(s.byLength, v)
	}
	slices.SortFunc(s.byLength, func(a, b string) int { return len(b) - len(a) })
	return s
}

// Load reads the secrets file at path. A file that does not exist holds no
// secrets; one every user may read is refused, as is a name or a value that
// cannot be used, each with its line.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	if err := checkPrivate(path); err != nil {
		return nil, err
	}
	var values map[string]string
	if err := tomlfile.Decode(path, data, &values); err != nil {
		return nil, err
	}
	probs := tomlfile.NewProblems(path, data)
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if err := Check(name, values[name]); err != nil {
			probs.Add(name, err.Error())
		}
	}
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return New(values), nil
}

// Check says what is wrong with a secret, if anything. The value itself is
// never part of the message.
func Check(name, value string) error {
	switch {
	case !ValidName(name):
		return fmt.Errorf("secret name %q: use a letter, then letters, digits, '_', '.' or '-' (at most 64)", name)
	case len(value) < MinLength:
		return fmt.Errorf("secret %s: a value shorter than %d bytes cannot be masked in plugin output without masking ordinary text too", name, MinLength)
	case strings.ContainsAny(value, "\x00\r\n"):
		return fmt.Errorf("secret %s: the value holds a NUL or a line break, which no command argument can", name)
	case !utf8.ValidString(value):
		return fmt.Errorf("secret %s: the value is not valid UTF-8, which the secrets file cannot hold", name)
	}
	return nil
}

// Lookup returns the value of the secret name.
func (s *Set) Lookup(name string) (string, bool) {
	if s == nil {
		return "", false
	}
	v, ok := s.values[name]
	return v, ok
}

// Names are the secrets' names, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.values))
}

// Redact replaces every secret value in text with Masked.
func (s *Set) Redact(text string) string {
	if s == nil {
		return text
	}
	for _, v := range s.byLength {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Masked)
		}
	}
	return text
}

// RedactError is err with every secret value masked in its text.
func (s *Set) RedactError(err error) error {
	if err == nil || s == nil {
		return err
	}
	if msg := s.Redact(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

// Save writes values to path in one step, readable by its owner only (on
// Windows, by its owner, SYSTEM and Administrators, through prepare).
func Save(path string, values map[string]string, prepare func(*os.File) error) error {
	var b bytes.Buffer
	b.WriteString("# picket's local secrets: $SECRET:name$ in a check's command. Managed by\n# `picket secret set|list|remove`; readable by the agent's user only.\n")
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if err := Check(name, values[name]); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s = %s\n", strconv.Quote(name), tomlString(values[name]))
	}
	return atomicfile.Write(path, b.Bytes(), atomicfile.Options{Perm: 0o600, Prepare: prepare})
}

// tomlString quotes v as a TOML basic string.
func tomlString(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// checkPrivate refuses a secrets file other users may read. Windows guards
// files with ACLs, which the mode bits do not show: secretfile judges the
// DACL there. On Unix the file must be the owner's alone (stricter than
// secretfile's "not every user"): it holds the secrets of every check.
func checkPrivate(path string) error {
	if runtime.GOOS == "windows" {
		if err := secretfile.Check(path); err != nil {
			return fmt.Errorf("secrets file: %w", err)
		}
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read secrets: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("secrets file %s can be read by other users (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	return nil
}
