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
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *keyPath == "" {
		fmt.Fprintln(sio.err, "Usage: picket server keygen --key FILE")
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
	fmt.Fprintf(sio.err, "signing key written to %s; set [externals] signing_key to it in server.toml\n", *keyPath)
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

func runServerHosts(args []string, sio stdio) int {
	fs := flag.NewFlagSet("server hosts", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	asJSON := fs.Bool("json", false, "print JSON")
	cfg, code := loadServerConfig(fs, args, sio)
	if cfg == nil {
		return code
	}
	hosts, err := hub.Hosts(cfg)
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
	fmt.Fprintln(tw, "HOST\tPROFILE\tADDRESS\tOS\tAGENT\tREGISTERED\tLAST SEEN\tERROR")
	for _, e := range hosts {
		addr := ""
		if len(e.Facts.Addresses) > 0 {
			addr = e.Facts.Addresses[0]
		}
		os := strings.TrimSpace(e.Facts.OS + " " + e.Facts.OSVersion)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Host, e.Profile, addr, os, e.Facts.AgentVersion,
			stamp(e.Registered), stamp(e.LastSeen), e.LastError)
	}
	tw.Flush()
	fmt.Fprintf(sio.err, "%d hosts\n", len(hosts))
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
