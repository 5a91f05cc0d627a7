package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/picket-monitoring/picket/internal/control"
	"github.com/picket-monitoring/picket/internal/hub"
)

const serverStatusUsage = `Usage: picket server status [--config server.toml] [--json]

Asks the running picket server, through its control channel (control_socket,
default control.sock in state_dir; \\.\pipe\picket-server on Windows), how
it is doing: its listeners, the NSCA results it received (a minute, over
the last minute and the last five, and in all), the packets it rejected by
reason and the results it could not hand to Nagios, the last update of
Nagios' objects (validation and reload) or Icinga 2's, and the registered
hosts with their last registration and contact.

Exit codes: 0 the server runs; 2 it does not (or cannot be asked); 3 usage.
`

func runServerStatus(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("server status", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, serverStatusUsage) }
	cfgPath := fs.String("config", hub.DefaultConfigPath, "server config (for state_dir and control_socket)")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, done := parseFlags(fs, args, serverStatusUsage, sio); done {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	path := serverControlPathOf(*cfgPath)
	var st hub.Status
	err := control.NewClient(path).Do(ctx, "GET", "/v1/status", nil, &st)
	if errors.Is(err, control.ErrNotRunning) {
		fmt.Fprintf(sio.out, "picket server is not running (nothing answers on %s)\n", path)
		return exitCritical
	}
	if err != nil {
		fmt.Fprintf(sio.err, "picket server status: %v\n", err)
		return exitCritical
	}
	if *asJSON {
		enc := json.NewEncoder(sio.out)
		enc.SetIndent("", "  ")
		return boolExit(enc.Encode(st) == nil)
	}
	printServerStatus(sio.out, st, time.Now())
	return exitOK
}

// serverControlPathOf finds where the server of the config at path
// listens, from state_dir and control_socket alone: asking the server
// needs neither the rest of the config nor the secrets it names. Without
// the file (a server run with --nsca-config only), the default.
func serverControlPathOf(path string) string {
	var c hub.Config
	var keys struct {
		StateDir      string `toml:"state_dir"`
		ControlSocket string `toml:"control_socket"`
	}
	toml.DecodeFile(path, &keys)
	c.StateDir, c.ControlSocket = keys.StateDir, keys.ControlSocket
	return hub.ControlPath(&c)
}

func printServerStatus(w io.Writer, st hub.Status, now time.Time) {
	fmt.Fprintf(w, "picket server %s, pid %d, running since %s (%s), config %s\n\n", st.Version, st.PID,
		stamp(st.Started), since(now, st.Started), cmpOr(st.Config, "-"))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "LISTENER\tADDRESS\tSTATE")
	for _, l := range st.Listeners {
		state := l.State
		if l.Error != "" {
			state += ": " + l.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Name, l.Address, state)
	}
	tw.Flush()
	if n := st.NSCA; n != nil {
		printNSCAView(w, n)
	}
	if st.Nagios != nil {
		printObjects(w, "Nagios objects", st.Nagios, now)
	}
	if st.Icinga2 != nil {
		printObjects(w, "Icinga 2 objects", st.Icinga2, now)
	}
	if h := st.Hosts; h != nil {
		fmt.Fprintf(w, "\n%d registered hosts\n", h.Count)
		if h.Count > 0 {
			tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "HOST\tPROFILE\tADDRESS\tREGISTERED\tLAST SEEN\tERROR")
			for _, e := range h.List {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Host, cmpOr(e.Profile, "-"), cmpOr(e.Address, "-"),
					stamp(e.Registered), stamp(e.LastSeen), clip(e.LastError, 80))
			}
			tw.Flush()
		}
	}
}

func printNSCAView(w io.Writer, n *hub.NSCAView) {
	rate := fmt.Sprintf("%.1f a minute over the last %s", n.Rate1m.PerMinute, n.Rate1m.Over)
	if n.Rate5m.Over != n.Rate1m.Over { // else the server is younger than a minute
		rate += fmt.Sprintf(", %.1f over the last %s", n.Rate5m.PerMinute, n.Rate5m.Over)
	}
	fmt.Fprintf(w, "\nNSCA: %d results received (%s) from %d connections; %d written to the command file, %d queued, %d write errors\n",
		n.Received, rate, n.Connections, n.Written, n.Queued, n.WriteErrors)
	r := n.Rejected
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "REJECTED\tCOUNT\tMEANING")
	for _, row := range []struct {
		name    string
		n       uint64
		meaning string
	}{
		{"bad_version", r.BadVersion, "did not decrypt: wrong password or encryption method, or not NSCA"},
		{"bad_crc", r.BadCRC, "did not decrypt: wrong password or encryption method"},
		{"stale", r.Stale, "timestamp beyond max_packet_age (a client's clock, or a late resend)"},
		{"short", r.Short, "cut off by a hang-up or the read timeout"},
		{"handshake", r.Handshake, "the init packet could not be sent"},
		{"refused_connections", r.RefusedConnections, "max_connections was reached"},
		{"refused_per_source", r.RefusedPerSource, "max_connections_per_source was reached for the address"},
		{"command_file_dropped", r.CommandFileDropped, "valid, but Nagios never got it: command file queue full or result file not written"},
	} {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", row.name, row.n, row.meaning)
	}
	tw.Flush()
}

func printObjects(w io.Writer, what string, v *hub.ObjectsView, now time.Time) {
	fmt.Fprintln(w)
	if v.Last.IsZero() {
		fmt.Fprintf(w, "%s: no update yet", what)
	} else {
		result := "OK"
		if !v.OK {
			result = "FAILED"
		}
		fmt.Fprintf(w, "%s: last update %s (%s ago) %s", what, stamp(v.Last), since(now, v.Last), result)
		var done []string
		if v.Validated {
			done = append(done, "validated")
		}
		if v.Reloaded {
			done = append(done, "reloaded")
		}
		if len(v.Written) > 0 {
			done = append(done, "written "+strings.Join(v.Written, " "))
		}
		if len(v.Removed) > 0 {
			done = append(done, "removed "+strings.Join(v.Removed, " "))
		}
		if len(done) > 0 {
			fmt.Fprintf(w, ": %s", strings.Join(done, ", "))
		}
	}
	fmt.Fprintln(w)
	if v.Error != "" {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(strings.TrimSpace(v.Error), "\n", "\n  "))
	}
	if !v.OK && !v.LastOK.IsZero() {
		fmt.Fprintf(w, "  last good update %s (%s ago)\n", stamp(v.LastOK), since(now, v.LastOK))
	}
	if !v.Checked.IsZero() {
		fmt.Fprintf(w, "  last looked at %s (%s ago)\n", stamp(v.Checked), since(now, v.Checked))
	}
}
