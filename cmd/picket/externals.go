package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/signing"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

const externalsUsage = `Usage: picket externals check FILE [--host H] [--public-key ed25519:...]

Validates an externals file (one host's check list, as the central server
serves it) exactly as the agent does, and prints the checks it resolves to:
service, schedule, timeout and command. [macros] values are not shown.

  --host H            the host the file is for (default: FILE's name
                      without .toml); it names the checks and is part of
                      what a signature covers
  --public-key KEY    require FILE.sig to be a valid signature by KEY

Exit codes: 0 valid; 2 invalid (each problem on stderr with file and line);
3 usage.
`

func runExternals(_ context.Context, args []string, sio stdio) int {
	usage := func() { fmt.Fprint(sio.err, externalsUsage) }
	if len(args) == 0 || args[0] != "check" {
		usage()
		return exitUsage
	}
	fs := flag.NewFlagSet("externals check", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = usage
	host := fs.String("host", "", "host the file is for")
	pubKey := fs.String("public-key", "", "ed25519:... key FILE.sig must verify with")
	// Flags may come before or after FILE, as people type them.
	var files []string
	for rest := args[1:]; ; rest = fs.Args()[1:] {
		if err := fs.Parse(rest); err != nil {
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
	}
	if len(files) != 1 {
		usage()
		return exitUsage
	}
	path := files[0]
	if *host == "" {
		*host = strings.TrimSuffix(filepath.Base(path), ".toml")
		if !externals.ValidHost(*host) {
			fmt.Fprintf(sio.err, "picket externals check: cannot take a host name from %q: give --host\n", path)
			return exitUsage
		}
	} else if !externals.ValidHost(*host) {
		fmt.Fprintf(sio.err, "picket externals check: --host %q: letters, digits, '.', '_' and '-' only, at most 63\n", *host)
		return exitUsage
	}
	var pub ed25519.PublicKey
	if *pubKey != "" {
		k, err := signing.ParsePublicKey(*pubKey)
		if err != nil {
			fmt.Fprintf(sio.err, "picket externals check: --public-key: %v\n", err)
			return exitUsage
		}
		pub = k
	}

	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(sio.err, "picket externals check: %v\n", err)
		return exitCritical
	}
	if len(data) > externals.DefaultMaxSize {
		fmt.Fprintf(sio.err, "%s: %d bytes: agents refuse externals larger than %d\n", path, len(data), externals.DefaultMaxSize)
		return exitCritical
	}
	f, err := externals.Parse(path, data, *host)
	if err != nil {
		fmt.Fprintf(sio.err, "%v\n", err)
		return exitCritical
	}
	signed := ""
	if pub != nil {
		text, err := os.ReadFile(path + ".sig")
		if err != nil {
			fmt.Fprintf(sio.err, "%s: signature required: %v\n", path, err)
			return exitCritical
		}
		// As the agent reads it from the network: v2 only.
		sig, err := signing.ParseSignature(text)
		if err == nil {
			_, err = sig.Verify([]ed25519.PublicKey{pub}, *host, data)
		}
		if err != nil {
			fmt.Fprintf(sio.err, "%s.sig: %v\n", path, err)
			return exitCritical
		}
		signed = fmt.Sprintf(", signature valid, serial %d", sig.Serial)
	}
	writeExternals(sio, path, *host, data, f, signed)
	return exitOK
}

func writeExternals(sio stdio, path, host string, data []byte, f *externals.File, signed string) {
	sum := sha256.Sum256(data)
	version := (&externals.Snapshot{Meta: externals.Meta{SHA256: hex.EncodeToString(sum[:])}}).Version()
	fmt.Fprintf(sio.out, "# %s: valid externals for host %s (version %s%s)\n", path, host, version, signed)
	addr := f.HostAddress
	if addr == "" {
		addr = host
	}
	fmt.Fprintf(sio.out, "# host_address %s", addr)
	if len(f.Macros) > 0 {
		fmt.Fprintf(sio.out, "; macros %s (values not shown)", strings.Join(slices.Sorted(maps.Keys(f.Macros)), ", "))
	}
	fmt.Fprintln(sio.out)
	if off := len(f.CheckList) - len(f.Checks); off == 1 {
		fmt.Fprintln(sio.out, "# 1 disabled check not listed")
	} else if off > 1 {
		fmt.Fprintf(sio.out, "# %d disabled checks not listed\n", off)
	}
	if len(f.Checks) == 0 {
		fmt.Fprintln(sio.out, "# no enabled checks")
		return
	}
	multiHost := slices.ContainsFunc(f.Checks, func(c check.Check) bool { return c.Host != host })
	tw := tabwriter.NewWriter(sio.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSCHEDULE\tTIMEOUT\tCOMMAND")
	for _, c := range f.Checks {
		name := c.Service
		if multiHost {
			name = c.Key().String()
		}
		sched := "cron " + c.Cron
		if c.Cron == "" {
			sched = "every " + externalsDuration(c.Interval)
		}
		cmd := c.Command
		if c.Shell {
			cmd = "(shell) " + cmd
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, sched, externalsDuration(c.Timeout), cmd)
	}
	tw.Flush()
}

// externalsDuration writes a duration as the file would: "1m", not "1m0s".
func externalsDuration(d time.Duration) string {
	b, _ := tomlfile.Duration{Duration: d}.MarshalText()
	return string(b)
}
