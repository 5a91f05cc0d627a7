package config

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/picket-monitoring/picket/nsca"
)

// Config is the agent's file. Sections later issues fill in (externals,
// autoreg) are declared now so that a complete file loads strictly today.
type Config struct {
	Hostname   string    `toml:"hostname"`
	PluginDirs []string  `toml:"plugin_dirs"`
	SpoolDir   string    `toml:"spool_dir"`
	Targets    []Target  `toml:"target"`
	Externals  Externals `toml:"externals"`
	Autoreg    Autoreg   `toml:"autoreg"`

	// File is where the config was read from.
	File string `toml:"-"`
}

// Target is one NSCA server; every target gets every result.
type Target struct {
	Address      string   `toml:"address"`
	Encryption   string   `toml:"encryption"`
	PasswordFile string   `toml:"password_file"`
	Legacy       bool     `toml:"legacy"`
	Timeout      Duration `toml:"timeout"`

	// Method is Encryption parsed.
	Method nsca.Method `toml:"-"`
}

// Externals is where the agent pulls its check list from.
type Externals struct {
	URL       string   `toml:"url"`
	CAFile    string   `toml:"ca_file"`
	PublicKey string   `toml:"public_key"`
	Interval  Duration `toml:"interval"`
	MaxStale  Duration `toml:"max_stale"`
}

// Autoreg is how the agent registers itself when it has no externals.
type Autoreg struct {
	URL       string   `toml:"url"`
	TokenFile string   `toml:"token_file"`
	Metadata  []string `toml:"metadata"`
}

// DefaultPath is the platform's config file location.
func DefaultPath() string {
	if runtime.GOOS == "windows" {
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "picket", "picket.toml")
	}
	return "/etc/picket/picket.toml"
}

// Load reads, decodes and validates the agent config at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates config data; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	c := &Config{File: file}
	if err := Decode(file, data, c); err != nil {
		return nil, err
	}
	var probs []Problem
	add := func(field, msg string) {
		probs = append(probs, Problem{File: file, Line: keyLine(data, splitField(field)), Field: field, Msg: msg})
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		f := "target[" + strconv.Itoa(i) + "]"
		if t.Address == "" {
			add(f+".address", "missing (want host:port)")
		} else if _, _, err := net.SplitHostPort(t.Address); err != nil {
			add(f+".address", fmt.Sprintf("%q is not host:port", t.Address))
		}
		if t.Encryption == "" {
			t.Encryption = "xor"
		}
		m, err := nsca.ParseMethod(t.Encryption)
		if err != nil {
			add(f+".encryption", err.Error())
		}
		t.Method = m
		if (err != nil || m != nsca.None) && t.PasswordFile == "" {
			add(f+".password_file", "missing: encryption "+t.Encryption+" needs a password")
		}
		if t.PasswordFile != "" {
			if err := CheckSecretFile(t.PasswordFile); err != nil {
				add(f+".password_file", err.Error())
			}
		}
	}
	if len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	return c, nil
}

// splitField turns "target[1].address" into the key path keyLine matches.
// Array indexes are dropped: keyLine finds the first such key, which is
// right for the common one-target file and close enough otherwise.
func splitField(f string) []string {
	parts := strings.Split(f, ".")
	for i, p := range parts {
		if j := strings.IndexByte(p, '['); j >= 0 {
			parts[i] = p[:j]
		}
	}
	return parts
}

// Password reads the target's secret. A trailing newline (as editors and
// `echo` leave) is not part of it.
func (t *Target) Password() ([]byte, error) {
	if t.PasswordFile == "" {
		return nil, nil
	}
	return ReadSecret(t.PasswordFile)
}

// ReadSecret reads a secret file, dropping one trailing line ending.
func ReadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return b, nil
}

// CheckSecretFile refuses a secret anyone on the host can read.
func CheckSecretFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o004 != 0 {
		return fmt.Errorf("%s is readable by every user (mode %04o): chmod o-r it", path, st.Mode().Perm())
	}
	return nil
}
