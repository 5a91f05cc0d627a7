package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/picket-monitoring/picket/internal/hub"
	"github.com/picket-monitoring/picket/internal/signing"
)

func runServerKeygen(args []string, sio stdio) int {
	fs := flag.NewFlagSet("server keygen", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	keyPath := fs.String("key", "", "file to write the private signing key to (mode 0600; never overwritten)")
	next := fs.Bool("next", false, "make the key to rotate to: [externals] next_signing_key")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *keyPath == "" {
		fmt.Fprintln(sio.err, "Usage: picket server keygen --key FILE [--next]")
		return exitUsage
	}
	pub, priv, err := signing.GenerateKey()
	if err == nil {
		err = signing.WriteSigningKey(*keyPath, priv)
	}
	if err != nil {
		fmt.Fprintf(sio.err, "picket server keygen: %v\n", err)
		return exitCritical
	}
	if *next {
		fmt.Fprintf(sio.err, `next signing key written to %s (%s). To rotate without touching any agent twice:
  1. set [externals] next_signing_key to it in server.toml and restart picket server: every
     signature announces it, and each agent's picket_externals warns until the agent trusts it;
  2. add this key to every agent's [externals] public_keys (keep the current one): from then on
     the server signs that agent's files with it, and its warning stops;
  3. once no agent warns, make it signing_key and drop next_signing_key.
the key for the agents' public_keys list:
`, *keyPath, signing.Fingerprint(pub))
		fmt.Fprintf(sio.out, "%q\n", signing.FormatPublicKey(pub))
		return exitOK
	}
	fmt.Fprintf(sio.err, "signing key written to %s (%s); set [externals] signing_key to it in server.toml\n", *keyPath, signing.Fingerprint(pub))
	fmt.Fprintf(sio.err, "give the agents this line in their [externals] section:\n")
	fmt.Fprintf(sio.out, "public_key = %q\n", signing.FormatPublicKey(pub))
	return exitOK
}

func loadServerConfig(fs *flag.FlagSet, args []string, sio stdio) (*hub.Config, int) {
	cfgFile := fs.String("config", hub.DefaultConfigPath, "server config")
	if err := fs.Parse(args); err != nil {
		return nil, exitUsage
	}
	cfg, err := hub.LoadConfig(*cfgFile)
	if err != nil {
		fmt.Fprintf(sio.err, "picket %s: %v\n", fs.Name(), err)
		return nil, exitCritical
	}
	return cfg, exitOK
}

func runServerHosts(ctx context.Context, args []string, sio stdio) int {
	if len(args) > 0 && (args[0] == "forget" || args[0] == "rekey") {
		return runServerHostsChange(ctx, args[0], args[1:], sio)
	}
	fs := flag.NewFlagSet("server hosts", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	asJSON := fs.Bool("json", false, "print JSON")
	cfg, code := loadServerConfig(fs, args, sio)
	if cfg == nil {
		return code
	}
	hosts, err := hub.Hosts(ctx, cfg)
	if err != nil {
		fmt.Fprintf(sio.err, "picket server hosts: %v\n", err)
		return exitCritical
	}
	if *asJSON {
		enc := json.NewEncoder(sio.out)
		enc.SetIndent("", "  ")
		if hosts == nil {
			return boolExit(enc.Encode([]struct{}{}) == nil)
		}
		return boolExit(enc.Encode(hosts) == nil)
	}
	tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tPROFILE\tADDRESS\tOS\tAGENT\tKEY\tBOUND\tREGISTERED\tLAST SEEN\tERROR")
	for _, h := range hosts {
		e := h.Entry
		addr := ""
		if len(e.Facts.Addresses) > 0 {
			addr = e.Facts.Addresses[0]
		}
		os := strings.TrimSpace(e.Facts.OS + " " + e.Facts.OSVersion)
		key, since := "-", "-"
		switch {
		case h.Binding != nil:
			key, since = h.Binding.Fingerprint, stamp(h.Binding.Since)
			if !h.Binding.RekeyRequested.IsZero() {
				key += " (rekey requested)"
			}
		case h.Legacy:
			key = "none (legacy)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Host, e.Profile, addr, os, e.Facts.AgentVersion,
			key, since, stamp(e.Registered), stamp(e.LastSeen), e.LastError)
	}
	tw.Flush()
	fmt.Fprintf(sio.err, "%d hosts\n", len(hosts))
	return exitOK
}

// runServerHostsChange is `picket server hosts forget|rekey HOST`.
func runServerHostsChange(ctx context.Context, what string, args []string, sio stdio) int {
	fs := flag.NewFlagSet("server hosts "+what, flag.ContinueOnError)
	fs.SetOutput(sio.err)
	// The host may come before the flags, as people type it.
	var host string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		host, args = args[0], args[1:]
	}
	cfg, code := loadServerConfig(fs, args, sio)
	if cfg == nil {
		return code
	}
	if host == "" && fs.NArg() == 1 {
		host = fs.Arg(0)
	} else if host == "" || fs.NArg() > 0 {
		fmt.Fprintf(sio.err, "Usage: picket server hosts %s [--config server.toml] HOST\n", what)
		return exitUsage
	}
	switch what {
	case "forget":
		b, err := hub.Forget(ctx, cfg, host)
		if err != nil {
			fmt.Fprintf(sio.err, "picket server hosts forget: %v\n", err)
			return exitCritical
		}
		if b.Key == "" {
			fmt.Fprintf(sio.out, "%s released: it was registered before identities; its next registration with a valid token must bring a key\n", host)
		} else {
			fmt.Fprintf(sio.out, "%s released from key %s: its next registration with a valid token binds a key anew\n", host, b.Fingerprint)
		}
	case "rekey":
		b, err := hub.Rekey(ctx, cfg, host)
		if err != nil {
			fmt.Fprintf(sio.err, "picket server hosts rekey: %v\n", err)
			return exitCritical
		}
		fmt.Fprintf(sio.out, "%s: key %s keeps working until a registration with a valid token brings a new one, which then replaces it\n", host, b.Fingerprint)
	}
	return exitOK
}

func runServerRender(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("server render", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	force := fs.Bool("force", false, "overwrite externals files an administrator edited")
	cfg, code := loadServerConfig(fs, args, sio)
	if cfg == nil {
		return code
	}
	logger, _ := newLogger(sio.err, "warn")
	res, err := hub.Render(ctx, cfg, fs.Args(), *force, logger)
	for _, r := range res {
		line := r.Host + ": " + r.Status
		if r.Message != "" {
			line += " (" + r.Message + ")"
		}
		fmt.Fprintln(sio.out, line)
	}
	if err != nil {
		fmt.Fprintf(sio.err, "picket server render: %v\n", err)
		return exitCritical
	}
	return exitOK
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func boolExit(ok bool) int {
	if ok {
		return exitOK
	}
	return exitCritical
}
