package builtin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

// Check is a built-in check with its arguments parsed, ready to run any
// number of times. Run is safe to call again after it returns; it keeps no
// state in memory between runs (what must last, eventlog's read position,
// goes through the OS's StateStore), so a watch can hold one Check and
// evaluate it every second.
type Check interface {
	Run(ctx context.Context, sys OS) check.Result
}

// Builtin describes one built-in check.
type Builtin struct {
	Name string
	// Summary is one line for `picket plugin`'s list.
	Summary string
	// usage is the synopsis and what the check does; Help adds the flags.
	usage  string
	define func(f *flags) func() (Check, error)
}

// ErrHelp is returned by New when the arguments ask for help (-h, --help).
var ErrHelp = errors.New("help requested")

// ErrUsage is wrapped by New's errors for bad arguments.
var ErrUsage = errors.New("bad arguments")

var registry = []Builtin{
	cpuBuiltin, diskBuiltin, eventlogBuiltin, fileAgeBuiltin, fileSizeBuiltin,
	loadBuiltin, logfileBuiltin, memoryBuiltin, procsBuiltin, serviceBuiltin, swapBuiltin, uptimeBuiltin,
}

// All returns the built-in checks sorted by name.
func All() []Builtin {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b Builtin) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup finds a built-in check by name.
func Lookup(name string) (Builtin, bool) {
	for _, b := range registry {
		if b.Name == name {
			return b, true
		}
	}
	return Builtin{}, false
}

// New parses args (everything after the check's name) into a Check. It
// returns ErrHelp for -h, and an error wrapping ErrUsage for anything it
// cannot read.
func (b Builtin) New(args []string) (Check, error) {
	f := newFlags(b.Name)
	build := b.define(f)
	if err := f.parse(args); err != nil {
		if errors.Is(err, ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUsage, b.Name, err)
	}
	c, err := build()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUsage, b.Name, err)
	}
	return c, nil
}

// Help is the usage text of the check with its flags, as `picket plugin
// NAME -h` prints it.
func (b Builtin) Help() string {
	f := newFlags(b.Name)
	b.define(f)
	return strings.TrimRight(b.usage, "\n") + "\n\nOptions:\n" + f.help()
}
