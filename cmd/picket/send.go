package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/nsca"
)

const sendUsage = `Usage: picket send [--quiet] -H <host_address> [-p port] [-to to_sec] [-d delim] [-ds set_delim] [-c config_file] [--legacy]
       picket send --config picket.toml [--quiet] [-to to_sec] [-d delim] [-ds set_delim]

Reads check results from standard input and sends them over NSCA, exactly as
send_nsca 2.10 does. Records are separated by ETB (0x17) unless -ds says
otherwise; fields by TAB unless -d says otherwise:
  service result: <host>[TAB]<service>[TAB]<return_code>[TAB]<output>
  host result:    <host>[TAB]<return_code>[TAB]<output>
With --config, every [[target]] of the agent's config gets every result.

Exit codes: 0 sent; 2 connection trouble, timeout, nothing sent, or a record
refused (the others are still sent); 3 usage or write error.
`

type sendTarget struct {
	name   string // as shown to the user
	addr   string
	dialer nsca.Dialer
	conn   *nsca.Conn
}

func runSend(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, sendUsage) }
	host := fs.String("H", "", "NSCA server address")
	port := fs.Int("p", 5667, "NSCA server port")
	timeout := fs.Int("to", 10, "seconds for the whole session")
	cfgFile := fs.String("c", "/etc/send_nsca.cfg", "send_nsca.cfg with password= and encryption_method=")
	delim := fs.String("d", "\t", "field delimiter (a character, or a code like 0x09)")
	setDelim := fs.String("ds", "0x17", "record delimiter (a character, or a code like 0x17)")
	quiet := fs.Bool("quiet", false, "print nothing unless there are errors")
	legacy := fs.Bool("legacy", false, "send 720-byte packets for NSCA 2.7 daemons")
	fs.BoolVar(legacy, "legacy-2-7-mode", false, "same as --legacy")
	agentCfg := fs.String("config", "", "send to the targets of this agent config instead of -H")
	// send_nsca also takes the server as its first argument.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		*host = args[0]
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitUsage
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(sio.err, "picket send: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintln(sio.err, "picket send: -to must be a positive number of seconds")
		return exitUsage
	}
	fieldSep, err := nsca.ParseDelimiter(*delim)
	if err != nil {
		fmt.Fprintf(sio.err, "picket send: -d: %v\n", err)
		return exitUsage
	}
	recordSep, err := nsca.ParseDelimiter(*setDelim)
	if err != nil {
		fmt.Fprintf(sio.err, "picket send: -ds: %v\n", err)
		return exitUsage
	}

	var targets []*sendTarget
	switch {
	case *agentCfg != "" && *host != "":
		fmt.Fprintln(sio.err, "picket send: use either -H or --config, not both")
		return exitUsage
	case *agentCfg != "":
		targets, err = targetsFromAgentConfig(*agentCfg)
	case *host != "":
		var t *sendTarget
		t, err = targetFromSendNSCAConfig(*cfgFile, *host, *port, *legacy)
		targets = []*sendTarget{t}
	default:
		fs.Usage()
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(sio.err, "Error: %v\n", err)
		return exitCritical
	}

	ctx, cancel := context.WithTimeoutCause(ctx, time.Duration(*timeout)*time.Second, errSessionTimeout)
	defer cancel()
	code := sendSession(ctx, targets, nsca.NewInputScanner(sio.in, fieldSep, recordSep), sio)
	if code != exitOK && timedOut(ctx) {
		fmt.Fprintf(sio.err, "Error: Timeout after %d seconds\n", *timeout)
		return exitCritical
	}
	if code != exitOK {
		return code
	}
	for _, t := range targets {
		n := t.conn.Sent()
		if n == 0 || !*quiet {
			fmt.Fprintf(sio.out, "%d data packet(s) sent to %s successfully.\n", n, t.name)
		}
		if n == 0 {
			code = exitCritical
		}
	}
	return code
}

var errSessionTimeout = errors.New("session timeout (-to)")

// timedOut reports whether the -to deadline has passed. A socket deadline
// taken from it can fire a moment before the context itself says so.
func timedOut(ctx context.Context) bool {
	if errors.Is(context.Cause(ctx), errSessionTimeout) {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// sendSession connects to every target, then streams the input to all of
// them and confirms each read it all.
func sendSession(ctx context.Context, targets []*sendTarget, in *nsca.InputScanner, sio stdio) int {
	conns := make([]*nsca.Conn, len(targets))
	for i, t := range targets {
		c, err := t.dialer.Dial(ctx, t.addr)
		if err != nil {
			if timedOut(ctx) {
				return exitCritical
			}
			fmt.Fprintf(sio.err, "Error: Could not connect to host %s: %v\n", t.addr, unwrapNet(err))
			return exitCritical
		}
		t.conn, conns[i] = c, c
		defer c.Close()
	}
	code := exitOK
	err := nsca.Stream(ctx, conns, in, func(err error) {
		fmt.Fprintf(sio.err, "Warning: %v (not sent)\n", err)
		code = exitCritical
	})
	var se *nsca.StreamError
	switch {
	case err == nil:
		return code
	case ctx.Err() != nil || timedOut(ctx):
		return exitCritical
	case errors.As(err, &se):
		fmt.Fprintf(sio.err, "Error: Could not send data to host %s: %v\n", targets[se.Conn].addr, unwrapNet(se.Err))
		return exitUsage
	default:
		fmt.Fprintf(sio.err, "Error: %v\n", err)
		return exitCritical
	}
}

// unwrapNet drops Go's "dial tcp 127.0.0.1:5667:" prefixes that repeat what
// the message already says.
func unwrapNet(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

func targetFromSendNSCAConfig(path, host string, port int, legacy bool) (*sendTarget, error) {
	cfg, err := nsca.ReadClientConfigFile(path)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	return &sendTarget{
		name: "host",
		addr: addr,
		// As in send_nsca, legacy_2_7_mode in the file wins over the flag.
		dialer: nsca.Dialer{Method: cfg.Method, Password: cfg.Password, Legacy: cfg.Legacy || legacy},
	}, nil
}

func targetsFromAgentConfig(path string) ([]*sendTarget, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if len(cfg.Targets) == 0 {
		return nil, fmt.Errorf("%s: no [[target]] to send to", path)
	}
	var out []*sendTarget
	for _, t := range cfg.Targets {
		pw, err := t.Password()
		if err != nil {
			return nil, fmt.Errorf("%s: target %s: %w", path, t.Address, err)
		}
		out = append(out, &sendTarget{
			name:   t.Address,
			addr:   t.Address,
			dialer: nsca.Dialer{Method: t.Method, Password: pw, Legacy: t.Legacy, Timeout: t.Timeout.Duration},
		})
	}
	return out, nil
}
