package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/setup"
)

const setupUsage = `Usage: picket setup [--config FILE] [--server HOST[:PORT][,...]] [--nsca-password PW]
                    [--nsca-encryption METHOD] [--externals-url URL] [--registration-url URL]
                    [--registration-token TOKEN] [--hostname NAME] [--proxy URL] [--service NAME] [--force]

Writes the agent's first-contact config from an installer's settings; the
MSI runs it with its public properties. Empty values are left out. The NSCA
password and the registration token go to nsca.secret and register.token
beside the config, readable only by their owner (on Windows: SYSTEM and
Administrators); the config names them. A config that exists is kept, so
upgrades and repairs never undo an edit, unless --force.

The encryption defaults to aes256 with a password and none without; each
server without a port gets 5667. --service (Windows) sets the named
service's recovery actions (restart after 5 s, 30 s, 60 s) and registers
its Event Log source; a setting the service manager refuses is a warning.
If the service cannot be opened, everything this run wrote is taken back
(files it replaced get their old contents) and setup exits 2.
`

func runSetup(_ context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, setupUsage); fs.PrintDefaults() }
	var s setup.Settings
	path := fs.String("config", config.DefaultPath(), "agent config to write")
	server := fs.String("server", "", "NSCA servers, host[:port] separated by commas")
	fs.StringVar(&s.NSCAPassword, "nsca-password", "", "NSCA password")
	fs.StringVar(&s.NSCAEncryption, "nsca-encryption", "", "NSCA encryption method")
	fs.StringVar(&s.ExternalsURL, "externals-url", "", "[externals] url")
	fs.StringVar(&s.RegistrationURL, "registration-url", "", "[autoreg] url")
	fs.StringVar(&s.RegistrationToken, "registration-token", "", "registration token")
	fs.StringVar(&s.Hostname, "hostname", "", "host name the agent reports as")
	fs.StringVar(&s.Proxy, "proxy", "", "[externals] proxy: http://host:port to reach the central server through")
	svc := fs.String("service", "", "Windows service whose recovery actions to set")
	force := fs.Bool("force", false, "replace an existing config")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	if *server != "" {
		s.Servers = []string{*server}
	}
	res, err := setup.Write(*path, s, *force)
	if err != nil {
		fmt.Fprintf(sio.err, "picket setup: %v\n", err)
		return exitCritical
	}
	if *svc != "" {
		warnings, err := setup.ServiceRecovery(*svc)
		if err != nil {
			// Nothing of a failed run may stay: a retried install would
			// keep a config written with this run's settings.
			fmt.Fprintf(sio.err, "picket setup: %v\n", err)
			if uerr := res.Undo(); uerr != nil {
				fmt.Fprintf(sio.err, "picket setup: %v\n", uerr)
			} else if len(res.Written) > 0 {
				fmt.Fprintf(sio.err, "picket setup: took back what this run wrote: %s\n", strings.Join(res.Written, ", "))
			}
			return exitCritical
		}
		for _, w := range warnings {
			fmt.Fprintf(sio.err, "picket setup: warning: %s\n", w)
		}
	}
	if res.Kept {
		fmt.Fprintf(sio.out, "%s exists: kept as it is (--force replaces it)\n", res.Config)
	}
	for _, p := range res.Written {
		fmt.Fprintf(sio.out, "wrote %s\n", p)
	}
	return exitOK
}
