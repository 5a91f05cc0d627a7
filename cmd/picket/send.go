package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
// them. Input is read in its own goroutine so that -to also bounds a stalled
// standard input, as send_nsca's alarm does.
func sendSession(ctx context.Context, targets []*sendTarget, in *nsca.InputScanner, sio stdio) int {
	for _, t := range targets {
		c, err := t.dialer.Dial(ctx, t.addr)
		if err != nil {
			if timedOut(ctx) {
				return exitCritical
			}
			fmt.Fprintf(sio.err, "Error: Could not connect to host %s: %v\n", t.addr, unwrapNet(err))
			return exitCritical
		}
		t.conn = c
		defer c.Close()
	}
	type item struct {
		p   nsca.Packet
		err error
	}
	items := make(chan item, 64)
	go func() {
		defer close(items)
		for {
			p, err := in.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			select {
			case items <- item{p, err}:
			case <-ctx.Done():
				return
			}
			var ie *nsca.InputError
			if err != nil && !errors.As(err, &ie) {
				return
			}
		}
	}()
	code := exitOK
	batch := make([]nsca.Packet, 0, maxBatch)
	for {
		batch = batch[:0]
		// Wait for one record, then take whatever else is already read, so
		// a burst goes out in one write and a trickle is not held back.
		select {
		case it, ok := <-items:
			if !ok {
				return code
			}
			if !takeItem(it.p, it.err, &batch, &code, sio) {
				return exitCritical
			}
		case <-ctx.Done():
			return exitCritical
		}
		for more := true; more && len(batch) < maxBatch; {
			select {
			case it, ok := <-items:
				if !ok {
					more = false
					break
				}
				if !takeItem(it.p, it.err, &batch, &code, sio) {
					return exitCritical
				}
			default:
				more = false
			}
		}
		if len(batch) == 0 {
			continue
		}
		for _, t := range targets {
			if _, err := t.conn.SendBatch(ctx, batch); err != nil {
				if ctx.Err() != nil || timedOut(ctx) {
					return exitCritical
				}
				fmt.Fprintf(sio.err, "Error: Could not send data to host %s: %v\n", t.addr, unwrapNet(err))
				return exitUsage
			}
		}
	}
}

// maxBatch bounds the packets per write (64 v3 packets are 275 KB).
const maxBatch = 64

// takeItem adds a parsed record to the batch, or reports a bad one (which is
// skipped; the rest still go). It returns false when input cannot go on.
func takeItem(p nsca.Packet, err error, batch *[]nsca.Packet, code *int, sio stdio) bool {
	if err == nil {
		*batch = append(*batch, p)
		return true
	}
	fmt.Fprintf(sio.err, "Warning: %v (not sent)\n", err)
	*code = exitCritical
	var ie *nsca.InputError
	return errors.As(err, &ie)
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
