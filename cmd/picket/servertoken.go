package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/internal/hub"
)

const tokenUsage = `Usage: picket server token add [--config server.toml] --name NAME [--hosts RE] [--profile P] [--expires 72h|DATE] [--max-uses N]
       picket server token list [--config server.toml] [--json]
`

func runServerToken(args []string, sio stdio) int {
	if len(args) == 0 {
		fmt.Fprint(sio.err, tokenUsage)
		return exitUsage
	}
	switch args[0] {
	case "add":
		return runServerTokenAdd(args[1:], sio)
	case "list":
		return runServerTokenList(args[1:], sio)
	}
	fmt.Fprint(sio.err, tokenUsage)
	return exitUsage
}

// tokensFiles are the config's tokens file and the server's uses file.
func tokensFiles(cfg *hub.Config, sio stdio) (tokens, uses string, ok bool) {
	if cfg.Registration == nil || cfg.Registration.TokensFile == "" {
		fmt.Fprintf(sio.err, "picket server token: %s has no [registration] tokens_file\n", cfg.File)
		return "", "", false
	}
	return cfg.Registration.TokensFile, filepath.Join(cfg.StateDir, "token-uses.json"), true
}

func runServerTokenAdd(args []string, sio stdio) int {
	fs := flag.NewFlagSet("server token add", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	name := fs.String("name", "", "the token's name, in logs and `picket server hosts`")
	hosts := fs.String("hosts", "", "regular expression the whole host name must match (default: any)")
	profile := fs.String("profile", "", "profile of every host enrolled with it (default: the rules)")
	expires := fs.String("expires", "", "lifetime (72h) or end (2026-12-31 or RFC 3339) (default: never)")
	maxUses := fs.Int("max-uses", 0, "registrations it admits (default: no limit)")
	cfg, code := loadServerConfig(fs, args, sio)
	if cfg == nil {
		return code
	}
	if fs.NArg() > 0 || *name == "" {
		fmt.Fprint(sio.err, tokenUsage)
		return exitUsage
	}
	tokensFile, _, ok := tokensFiles(cfg, sio)
	if !ok {
		return exitCritical
	}
	now := time.Now().UTC().Truncate(time.Second)
	tok := autoreg.Token{Name: *name, Hosts: *hosts, Profile: *profile, MaxUses: *maxUses, Created: now}
	if *expires != "" {
		end, err := parseExpiry(*expires, now)
		if err != nil {
			fmt.Fprintf(sio.err, "picket server token add: --expires: %v\n", err)
			return exitUsage
		}
		tok.Expires = end
	}
	if *hosts != "" {
		if _, err := regexp.Compile(*hosts); err != nil {
			fmt.Fprintf(sio.err, "picket server token add: --hosts: %v\n", err)
			return exitUsage
		}
	}
	if *profile != "" {
		p, err := autoreg.LoadProfiles(cfg.Registration.Profiles)
		if err != nil {
			fmt.Fprintf(sio.err, "picket server token add: %v\n", err)
			return exitCritical
		}
		if !p.Has(*profile) {
			fmt.Fprintf(sio.err, "picket server token add: --profile %q: %s has no such profile (a rule, the default or a [profile.NAME] table names it)\n",
				*profile, cfg.Registration.Profiles)
			return exitUsage
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		fmt.Fprintf(sio.err, "picket server token add: %v\n", err)
		return exitCritical
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	tok.SHA256 = hex.EncodeToString(sum[:])
	converted, err := autoreg.AddToken(tokensFile, tok)
	if err != nil {
		fmt.Fprintf(sio.err, "picket server token add: %v\n", err)
		return exitCritical
	}
	if converted > 0 {
		fmt.Fprintf(sio.err, "%s was one token per line: converted to the TOML form, its %d tokens kept as hashes named legacy-1 to legacy-%d\n",
			tokensFile, converted, converted)
	}
	fmt.Fprintf(sio.err, "token %q added to %s; only its SHA-256 is kept, so copy it now (the agents' register.token, the MSI's REGISTRATION_TOKEN, Puppet's registration_token):\n",
		*name, tokensFile)
	fmt.Fprintln(sio.out, token)
	return exitOK
}

// parseExpiry reads a lifetime from now or an end date.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: a lifetime must be positive", s)
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.After(now) {
				return time.Time{}, fmt.Errorf("%q is in the past", s)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (72h) nor a date (2026-12-31, RFC 3339)", s)
}

func runServerTokenList(args []string, sio stdio) int {
	fs := flag.NewFlagSet("server token list", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	asJSON := fs.Bool("json", false, "print JSON")
	cfg, code := loadServerConfig(fs, args, sio)
	if cfg == nil {
		return code
	}
	tokensFile, usesFile, ok := tokensFiles(cfg, sio)
	if !ok {
		return exitCritical
	}
	list, err := autoreg.ListTokens(tokensFile, usesFile)
	if err != nil {
		fmt.Fprintf(sio.err, "picket server token list: %v\n", err)
		return exitCritical
	}
	now := time.Now()
	if *asJSON {
		type row struct {
			Name     string    `json:"name"`
			Hosts    string    `json:"hosts,omitempty"`
			Profile  string    `json:"profile,omitempty"`
			Expires  time.Time `json:"expires,omitzero"`
			MaxUses  int       `json:"max_uses,omitempty"`
			Uses     int       `json:"uses"`
			LastUsed time.Time `json:"last_used,omitzero"`
			State    string    `json:"state"`
		}
		rows := []row{}
		for _, t := range list {
			rows = append(rows, row{t.Name, t.Hosts, t.Profile, t.Expires, t.MaxUses, t.Uses, t.LastUsed, tokenState(t, now)})
		}
		enc := json.NewEncoder(sio.out)
		enc.SetIndent("", "  ")
		return boolExit(enc.Encode(rows) == nil)
	}
	tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tHOSTS\tPROFILE\tEXPIRES\tUSES\tLAST USED\tSTATE")
	for _, t := range list {
		hosts, profile, uses := "any", "rules", fmt.Sprint(t.Uses)
		if t.Hosts != "" {
			hosts = t.Hosts
		}
		if t.Profile != "" {
			profile = t.Profile
		}
		if t.MaxUses > 0 {
			uses = fmt.Sprintf("%d of %d", t.Uses, t.MaxUses)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, hosts, profile, stamp(t.Expires), uses, stamp(t.LastUsed), tokenState(t, now))
	}
	tw.Flush()
	fmt.Fprintf(sio.err, "%d tokens\n", len(list))
	return exitOK
}

func tokenState(t autoreg.TokenState, now time.Time) string {
	switch {
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return "expired"
	case t.MaxUses > 0 && t.Uses >= t.MaxUses:
		return "used up"
	}
	return "valid"
}
