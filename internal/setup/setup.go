package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/picket-monitoring/picket/internal/atomicfile"
	"github.com/picket-monitoring/picket/internal/config"
)

// DefaultPort is NSCA's, used when a server is given without one.
const DefaultPort = "5667"

// File names of the secrets, beside the config.
const (
	PasswordFile = "nsca.secret"
	TokenFile    = "register.token"
)

// Settings are an installer's first-contact settings; empty ones are not
// written.
type Settings struct {
	Servers           []string // host or host:port; every one gets every result
	NSCAPassword      string
	NSCAEncryption    string // default aes256 with a password, none without
	ExternalsURL      string
	RegistrationURL   string
	RegistrationToken string
	Hostname          string
	// Proxy is [externals] proxy: the HTTP proxy to the central server.
	Proxy string
}

// Result says what Write did, and can take it back.
type Result struct {
	Config  string   // the config's path
	Kept    bool     // the config existed and was left alone
	Written []string // the files written
	journal journal
}

// Undo takes back everything Write did: files it created are removed,
// files it replaced get their old contents back, and a folder it created
// is removed once empty. An installer calls it when a later step of the
// same run fails, so a retried install starts from what was there before.
func (r *Result) Undo() error { return r.journal.undo() }

// agentFile is the part of the agent config an installer sets; encoding it
// with the TOML encoder quotes every value correctly.
type agentFile struct {
	Hostname  string       `toml:"hostname,omitempty"`
	Targets   []target     `toml:"target,omitempty"`
	Externals *externals   `toml:"externals,omitempty"`
	Autoreg   *registering `toml:"autoreg,omitempty"`
}

type target struct {
	Address      string `toml:"address"`
	Encryption   string `toml:"encryption"`
	PasswordFile string `toml:"password_file,omitempty"`
}

type externals struct {
	URL   string `toml:"url"`
	Proxy string `toml:"proxy,omitempty"`
}

type registering struct {
	URL       string `toml:"url"`
	TokenFile string `toml:"token_file,omitempty"`
}

// Write creates the config at path, and the secret files beside it, from
// s. An existing config is kept unless force. The config is validated as
// the agent would load it before it is put in place; on failure nothing
// of this run is left behind, and what it replaced is back.
func Write(path string, s Settings, force bool) (*Result, error) {
	res := &Result{Config: path}
	if _, err := os.Stat(path); err == nil && !force {
		res.Kept = true
		return res, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	dir := filepath.Dir(path)
	f, secrets, err := render(dir, s)
	if err != nil {
		return res, err
	}
	var b bytes.Buffer
	b.WriteString("# picket agent config, written by the installer from its first-contact\n" +
		"# settings. Edit freely: upgrades keep this file. Reference: README.md.\n\n")
	if err := toml.NewEncoder(&b).Encode(f); err != nil {
		return res, err
	}

	fail := func(err error) (*Result, error) {
		if uerr := res.journal.undo(); uerr != nil {
			err = fmt.Errorf("%w (and undoing it: %v)", err, uerr)
		}
		res.Written = nil
		return res, err
	}
	if err := res.journal.makeDir(dir); err != nil {
		return fail(fmt.Errorf("%s: %w", dir, err))
	}
	for _, name := range sortedKeys(secrets) {
		p := filepath.Join(dir, name)
		if err := res.journal.write(p, []byte(secrets[name]+"\n")); err != nil {
			return fail(fmt.Errorf("%s: %w", p, err))
		}
		res.Written = append(res.Written, p)
	}
	// Parsing checks the secret files too, so it comes after them.
	if _, err := config.Parse(path, b.Bytes()); err != nil {
		return fail(fmt.Errorf("the settings do not make a valid config: %w", err))
	}
	if err := res.journal.write(path, b.Bytes()); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	res.Written = append(res.Written, path)
	return res, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// render builds the config for s and the secret files it refers to.
func render(dir string, s Settings) (agentFile, map[string]string, error) {
	f := agentFile{Hostname: strings.TrimSpace(s.Hostname)}
	secrets := map[string]string{}
	enc := strings.TrimSpace(s.NSCAEncryption)
	if enc == "" {
		enc = "none"
		if s.NSCAPassword != "" {
			enc = "aes256"
		}
	}
	pwFile := ""
	if s.NSCAPassword != "" {
		pwFile = filepath.Join(dir, PasswordFile)
		secrets[PasswordFile] = s.NSCAPassword
	}
	for _, srv := range s.Servers {
		for _, a := range strings.Split(srv, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(a); err != nil {
				a = net.JoinHostPort(strings.Trim(a, "[]"), DefaultPort)
			}
			f.Targets = append(f.Targets, target{Address: a, Encryption: enc, PasswordFile: pwFile})
		}
	}
	if u := strings.TrimSpace(s.ExternalsURL); u != "" {
		f.Externals = &externals{URL: u, Proxy: strings.TrimSpace(s.Proxy)}
	} else if strings.TrimSpace(s.Proxy) != "" {
		return f, nil, errors.New("a proxy without an externals URL has no use")
	}
	if u := strings.TrimSpace(s.RegistrationURL); u != "" {
		f.Autoreg = &registering{URL: u}
		if s.RegistrationToken != "" {
			f.Autoreg.TokenFile = filepath.Join(dir, TokenFile)
			secrets[TokenFile] = s.RegistrationToken
		}
	} else if s.RegistrationToken != "" {
		return f, nil, errors.New("a registration token without a registration URL has no use")
	}
	return f, secrets, nil
}

// writePrivate writes data to path through a file only the owner and
// administrators can read, restricted before anything is in it.
func writePrivate(path string, data []byte) error {
	return atomicfile.Write(path, data, atomicfile.Options{Perm: 0o600, Prepare: restrict})
}
