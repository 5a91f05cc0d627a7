package config

import (
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/secretfile"
	"github.com/picket-monitoring/picket/nsca"
)

// Config is the agent's file. Sections later issues fill in (externals,
// autoreg) are declared now so that a complete file loads strictly today.
type Config struct {
	// Hostname is the name results are reported under; empty derives it
	// from the system (see HostnameFQDN and HostnameLowercase).
	Hostname          string `toml:"hostname"`
	HostnameFQDN      bool   `toml:"hostname_fqdn"`
	HostnameLowercase *bool  `toml:"hostname_lowercase"`
	// HostAddress is $HOSTADDRESS$ for the agent's own checks; empty
	// means the host name.
	HostAddress string `toml:"host_address"`

	PluginDirs []string `toml:"plugin_dirs"`
	// AllowPluginsOutside lets a check name an absolute path outside
	// plugin_dirs. Off by default: whoever can edit externals should not
	// be able to run any binary on the host.
	AllowPluginsOutside bool                `toml:"allow_plugins_outside"`
	Interpreters        map[string][]string `toml:"interpreters"`
	// MaxOutput is the bytes kept of each plugin output stream.
	MaxOutput int `toml:"max_output"`
	// KillGrace is how long a timed-out plugin has between SIGTERM and
	// SIGKILL.
	KillGrace Duration `toml:"kill_grace"`
	// Concurrency bounds the plugins running at once; 0 picks a default.
	Concurrency int `toml:"concurrency"`

	// StateDir holds what the agent learns at run time: the last-known-good
	// externals and the registration's answer.
	StateDir  string        `toml:"state_dir"`
	SpoolDir  string        `toml:"spool_dir"`
	Spool     Spool         `toml:"spool"`
	Targets   []Target      `toml:"target"`
	Externals Externals     `toml:"externals"`
	Autoreg   Autoreg       `toml:"autoreg"`
	Health    Health        `toml:"health"`
	Log       Log           `toml:"log"`
	Macros    Macros        `toml:"macros"`
	Defaults  CheckDefaults `toml:"defaults"`
	CheckList []CheckSpec   `toml:"check"`

	// File is where the config was read from.
	File string `toml:"-"`
	// Checks is CheckList resolved: defaults applied, macros' host set,
	// disabled checks left out. This is what the poller runs.
	Checks []check.Check `toml:"-"`
}

// Health is how the agent reports on itself: passive results on its own
// services, sent like any check's, so an unhealthy agent shows in Nagios.
type Health struct {
	Enabled        *bool    `toml:"enabled"`
	Interval       Duration `toml:"interval"`
	PollerService  string   `toml:"poller_service"`
	SpoolerService string   `toml:"spooler_service"`
	// ExternalsService reports the externals: version running, last
	// fetch, rejections, registration.
	ExternalsService string `toml:"externals_service"`
	// BacklogWarning and BacklogCritical are how old the oldest unsent
	// result of a target may grow before the spooler's service turns
	// WARNING or CRITICAL.
	BacklogWarning  Duration `toml:"backlog_warning"`
	BacklogCritical Duration `toml:"backlog_critical"`
}

// Defaults of [health].
const (
	DefaultHealthInterval = 5 * time.Minute
	DefaultPollerService  = "picket_poller"
)

// On reports whether self-reporting is enabled (the default).
func (h Health) On() bool { return h.Enabled == nil || *h.Enabled }

// Target is one NSCA server. Every group of targets gets every result;
// within a group, the first target that is up gets them (failover).
type Target struct {
	Address string `toml:"address"`
	// Group names a failover chain: targets sharing it are tried in file
	// order and share one position in the spool. Empty: a group of one.
	Group        string   `toml:"group"`
	Encryption   string   `toml:"encryption"`
	PasswordFile string   `toml:"password_file"`
	Legacy       bool     `toml:"legacy"`
	Timeout      Duration `toml:"timeout"`

	// Method is Encryption parsed.
	Method nsca.Method `toml:"-"`
	// secretSum fingerprints the password as loaded, so a reload that
	// only changes the password file's content still counts as a change.
	secretSum [sha256.Size]byte
}

// Externals is where the agent pulls its check list from. Its TLS
// settings (ca_file, cert_file, key_file) serve registration too: both
// talk to the central server.
type Externals struct {
	URL string `toml:"url"`
	// CAFile is added to the system's roots.
	CAFile   string `toml:"ca_file"`
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// PublicKey ("ed25519:<base64>"), when set, makes a signature
	// mandatory: an unsigned or badly signed file is rejected.
	PublicKey string   `toml:"public_key"`
	Interval  Duration `toml:"interval"`
	// MaxStale is how long the last-known-good externals keep running
	// without the server confirming them; after it, auto-config mode.
	MaxStale Duration `toml:"max_stale"`
	Timeout  Duration `toml:"timeout"`
	MaxSize  Size     `toml:"max_size"`
	// MonitoredHosts are other hosts whose externals this agent pulls and
	// runs, reporting under their names (multi-host mode).
	MonitoredHosts []string `toml:"monitored_hosts"`
}

// Autoreg is how the agent registers itself when it has no externals.
type Autoreg struct {
	URL       string   `toml:"url"`
	TokenFile string   `toml:"token_file"`
	Metadata  []string `toml:"metadata"`
	// MaxBackoff caps the wait between registration attempts.
	MaxBackoff Duration `toml:"max_backoff"`
}

// DefaultPath is the platform's config file location.
func DefaultPath() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(programData(), "picket", "picket.toml")
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

// Parse decodes and validates config data; file names it in errors. An
// empty hostname is derived from the system here.
func Parse(file string, data []byte) (*Config, error) {
	return parse(file, data, "")
}

// LoadAs is Load with the host name the central server assigned at
// registration, which wins over the file's: it is the name Nagios knows.
func LoadAs(path, hostname string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data, hostname)
}

func parse(file string, data []byte, hostname string) (*Config, error) {
	c := &Config{File: file}
	if err := Decode(file, data, c); err != nil {
		return nil, err
	}
	if hostname != "" {
		c.Hostname = hostname
	}
	probs := &problems{file: file, data: data}
	c.applyDefaults(probs)
	c.applySpoolDefaults(probs)
	c.applyExternalsDefaults(probs)
	c.Log.Resolve(probs.add)
	c.checkTargets(probs)
	c.checkGroups(probs)
	c.checkRunner(probs)
	c.Checks = resolveChecks(probs, c.CheckList, c.Defaults, c.Macros, c.Hostname, c.HostAddress)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// problems collects every problem of one file, each placed on its line.
type problems struct {
	file string
	data []byte
	list []Problem
}

// add records a problem with field, a dotted key with array indexes such
// as "check[2].interval".
func (p *problems) add(field, msg string) {
	p.list = append(p.list, Problem{File: p.file, Line: keyLine(p.data, strings.Split(field, ".")), Field: field, Msg: msg})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	// In file order, as an editor shows them; problems without a line
	// (0) go first.
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Line < p.list[j].Line })
	return &Error{Problems: p.list}
}

func (c *Config) checkTargets(probs *problems) {
	for i := range c.Targets {
		t := &c.Targets[i]
		f := "target[" + strconv.Itoa(i) + "]"
		if t.Address == "" {
			probs.add(f+".address", "missing (want host:port)")
		} else if _, _, err := net.SplitHostPort(t.Address); err != nil {
			probs.add(f+".address", fmt.Sprintf("%q is not host:port", t.Address))
		}
		if t.Encryption == "" {
			t.Encryption = "xor"
		}
		m, err := nsca.ParseMethod(t.Encryption)
		if err != nil {
			probs.add(f+".encryption", err.Error())
		}
		t.Method = m
		if (err != nil || m != nsca.None) && t.PasswordFile == "" {
			probs.add(f+".password_file", "missing: encryption "+t.Encryption+" needs a password")
		}
		if t.PasswordFile != "" {
			if err := CheckSecretFile(t.PasswordFile); err != nil {
				probs.add(f+".password_file", err.Error())
			} else if pw, err := ReadSecret(t.PasswordFile); err != nil {
				probs.add(f+".password_file", err.Error())
			} else {
				t.secretSum = sha256.Sum256(pw)
			}
		}
	}
}

// checkRunner validates the settings of the plugin runner.
func (c *Config) checkRunner(probs *problems) {
	for i, d := range c.PluginDirs {
		if d == "" || !filepath.IsAbs(d) {
			probs.add("plugin_dirs", fmt.Sprintf("entry %d (%q) is not an absolute path", i+1, d))
		}
	}
	if c.MaxOutput < 0 {
		probs.add("max_output", "must not be negative")
	} else if c.MaxOutput > 0 && c.MaxOutput < 512 {
		probs.add("max_output", fmt.Sprintf("%d bytes is too small to hold a plugin's first line; use at least 512", c.MaxOutput))
	}
	if c.Concurrency < 0 {
		probs.add("concurrency", "must not be negative")
	}
	for ext, argv := range c.Interpreters {
		if !strings.HasPrefix(ext, ".") {
			probs.add("interpreters."+ext, "key must be a file extension starting with '.'")
		}
		if len(argv) == 0 || argv[0] == "" {
			probs.add("interpreters."+ext, "needs an interpreter command, e.g. [\"powershell.exe\", \"-File\"]")
		}
	}
	c.Macros.check(probs, "macros")
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
func ReadSecret(path string) ([]byte, error) { return secretfile.Read(path) }

// CheckSecretFile refuses a secret others can read: by mode on Unix, by its
// DACL on Windows.
func CheckSecretFile(path string) error { return secretfile.Check(path) }
