package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/icinga2"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/nsca"
)

// maxClockOffset is the difference between this host's clock and a
// server's past which doctor warns: picket server corrects check times
// for it, but the agent's own log and its "[delayed ...]" notes use this
// host's clock, and nsca's max_packet_age is usually measured in minutes.
const maxClockOffset = time.Minute

// target checks one [[target]] as its sender would use it.
func (d *doctor) target(ctx context.Context, i int) []finding {
	t := d.cfg.Targets[i]
	subject := t.Address
	if t.Kind == config.KindIcinga2 {
		subject = t.URL
	}
	if f := d.broken("target", subject, "target["+strconv.Itoa(i)+"]"); f != nil {
		return f
	}
	pw, err := t.Password()
	if err != nil {
		return []finding{fail("target", subject, "password_file: "+err.Error(),
			"make "+t.PasswordFile+" readable by the agent's user")}
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	if t.Kind == config.KindIcinga2 {
		return []finding{d.icingaTarget(ctx, t, subject, string(pw))}
	}
	return []finding{d.nscaTarget(ctx, t, pw)}
}

// nscaTarget connects as the spooler would and, to a picket server, sends
// a probe: only picket server can say whether it decrypts what we send.
func (d *doctor) nscaTarget(ctx context.Context, t config.Target, pw []byte) finding {
	dialer := nsca.Dialer{Method: t.Method, Password: pw, Legacy: t.Legacy, Timeout: d.timeout}
	c, err := dialer.Dial(ctx, t.Address)
	if err != nil {
		msg, fix := dialProblem(err, t.Address, d.timeout)
		return fail("target", t.Address, msg, fix)
	}
	defer func() {
		// Hang up as a client that sent nothing more: the server then
		// closes without logging a reset.
		c.Finish(ctx)
	}()
	off := c.ClockOffset()
	clock := "clock offset " + formatOffset(off)
	skewed := off.Abs() > maxClockOffset
	skewFix := "run NTP (chrony or systemd-timesyncd) on this host and on the server"
	if !c.CheckTimes() {
		f := warn("target", t.Address, "plain NSCA server (no picket marker): cannot tell whether the password and cipher work: nsca never answers; "+clock,
			fmt.Sprintf("make sure password_file and encryption (%s, method %d) match the server's nsca.cfg (password=, decryption_method=); nsca logs \"Dropping packet with invalid CRC32\" to syslog when they differ", t.Encryption, int(t.Method)))
		if skewed {
			f.Fix += "; and " + skewFix
		}
		return f
	}
	err = c.Probe(ctx)
	switch {
	case err == nil && skewed:
		return warn("target", t.Address, "picket server, password and cipher accepted, but "+clock, skewFix)
	case err == nil:
		return pass("target", t.Address, "picket server, password and cipher accepted, "+clock)
	case errors.Is(err, nsca.ErrProbeRejected):
		return fail("target", t.Address, fmt.Sprintf("picket server, but it hung up on the probe: the password or the encryption (%s) differs from its own; %s", t.Encryption, clock),
			"use the password and encryption of the server's [nsca] section (password_file, encryption) or of its nsca.cfg")
	case errors.Is(err, nsca.ErrProbeNoAnswer):
		return warn("target", t.Address, fmt.Sprintf("picket server, but it did not answer the probe within %v: cannot tell whether the password and cipher work; %s", d.timeout, clock),
			"upgrade picket server: older versions do not answer probes")
	}
	return fail("target", t.Address, "picket server, but the probe failed: "+err.Error()+"; "+clock, "")
}

// icingaTarget asks Icinga 2's API who we are: TLS, credentials and
// permission in one request.
func (d *doctor) icingaTarget(ctx context.Context, t config.Target, subject, pw string) finding {
	c, err := icinga2.New(icinga2.Config{URL: t.URL, User: t.User, Password: pw, CertFile: t.CertFile,
		KeyFile: t.KeyFile, CAFile: t.CAFile, ServerName: t.ServerName, Timeout: d.timeout})
	if err != nil {
		return fail("target", subject, err.Error(), "correct the target's settings")
	}
	defer c.Close()
	info, err := c.Ping(ctx)
	who := "client certificate " + t.CertFile
	if t.User != "" {
		who = "user " + t.User
	}
	var te *icinga2.TLSError
	switch {
	case errors.Is(err, icinga2.ErrUnauthorized):
		return fail("target", subject, "Icinga 2 refused "+who,
			"check the ApiUser in Icinga's api-users.conf against user and password_file (or client_cn against cert_file)")
	case errors.As(err, &te):
		if msg, fix, ok := certProblem(err, d.now); ok {
			return fail("target", subject, msg, fix)
		}
		fix := "set ca_file to Icinga's CA (ca.crt in /var/lib/icinga2/certs on the master)"
		if errors.Is(err, icinga2.ErrCertificateName) {
			fix = "set server_name to the name in Icinga's certificate (its node name)"
		}
		return fail("target", subject, te.Kind.Error()+": "+te.Detail, fix)
	case errors.Is(err, icinga2.ErrUnavailable):
		msg, fix := dialProblem(err, t.Address, d.timeout)
		return fail("target", subject, msg, fix)
	case err != nil:
		return fail("target", subject, err.Error(), "is the url Icinga 2's API (port 5665)?")
	}
	msg := fmt.Sprintf("Icinga 2 %s, %s accepted", info.Version, who)
	if !info.Can("actions/process-check-result") {
		return fail("target", subject, msg+", but it may not send check results",
			`add "actions/process-check-result" to the ApiUser's permissions`)
	}
	msg += ", may send check results"
	if info.Certificate == nil {
		return pass("target", subject, msg)
	}
	return d.expiry("target", subject, msg, info.Certificate.NotAfter, "renew Icinga's certificate (icinga2 pki)")
}

// dialProblem says why a connection could not be made, and what to do.
func dialProblem(err error, addr string, timeout time.Duration) (msg, fix string) {
	host, port, _ := net.SplitHostPort(addr)
	var dns *net.DNSError
	var ne net.Error
	switch {
	case refused(err):
		return "connection refused: nothing listens on " + addr,
			"start the server (picket server, nsca) there, or correct the address; a firewall that rejects looks the same"
	case errors.As(err, &dns):
		return "cannot resolve " + host + ": " + dns.Err, "correct the host name, or this host's DNS (/etc/hosts, resolv.conf)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer from %s within %v", addr, timeout),
			"check the address, and that every firewall between lets TCP to port " + port + " through"
	case unreachable(err):
		return "no route to " + addr + ": " + err.Error(), "check the network path to " + host
	case strings.Contains(err.Error(), "init packet"):
		return "connected, but no init packet came: " + err.Error(),
			"is " + addr + " the NSCA port? nsca turns clients away that its allowed hosts or connection limit exclude; its log says"
	}
	return err.Error(), ""
}

// formatOffset writes a clock offset with its sign: "+0s", "-3m2s".
func formatOffset(d time.Duration) string {
	if d < 0 {
		return d.String()
	}
	return "+" + d.String()
}
