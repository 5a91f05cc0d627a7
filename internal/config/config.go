package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/secretfile"
	"github.com/picket-monitoring/picket/internal/secrets"
	"github.com/picket-monitoring/picket/internal/tomlfile"
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
	KillGrace tomlfile.Duration `toml:"kill_grace"`
	// Concurrency bounds the plugins running at once; 0 picks a default.
	Concurrency int `toml:"concurrency"`

	// StateDir holds what the agent learns at run time: the last-known-good
	// externals and the registration's answer.
	StateDir string `toml:"state_dir"`
	// SecretsFile holds the values of $SECRET:name$ (`picket secret`).
	SecretsFile string `toml:"secrets_file"`
	// ControlSocket is where `picket status` reaches the running agent;
	// empty: state_dir/control.sock (on Windows, the pipe \\.\pipe\picket).
	ControlSocket string             `toml:"control_socket"`
	SpoolDir      string             `toml:"spool_dir"`
	Spool         Spool              `toml:"spool"`
	Targets       []Target           `toml:"target"`
	Externals     Externals          `toml:"externals"`
	Autoreg       Autoreg            `toml:"autoreg"`
	Health        Health             `toml:"health"`
	Log           Log                `toml:"log"`
	Metrics       Metrics            `toml:"metrics"`
	Macros        checkspec.Macros   `toml:"macros"`
	Defaults      checkspec.Defaults `toml:"defaults"`
	CheckList     []checkspec.Spec   `toml:"check"`

	// File is where the config was read from.
	File string `toml:"-"`
	// Secrets are SecretsFile's, loaded with the config.
	Secrets *secrets.Set `toml:"-"`
	// Origins places every check of CheckList in the file, for problems
	// found after loading (a plugin that cannot be started).
	Origins map[check.Key]checkspec.Origin `toml:"-"`
	// Checks is CheckList resolved: defaults applied, macros' host set,
	// disabled checks left out. This is what the poller runs.
	Checks []check.Check `toml:"-"`
}

// Health is how the agent reports on itself: passive results on its own
// services, sent like any check's, so an unhealthy agent shows in Nagios.
type Health struct {
	Enabled        *bool             `toml:"enabled"`
	Interval       tomlfile.Duration `toml:"interval"`
	PollerService  string            `toml:"poller_service"`
	SpoolerService string            `toml:"spooler_service"`
	// ExternalsService reports the externals: version running, last
	// fetch, rejections, registration.
	ExternalsService string `toml:"externals_service"`
	// BacklogWarning and BacklogCritical are how old the oldest unsent
	// result of a target may grow before the spooler's service turns
	// WARNING or CRITICAL.
	BacklogWarning  tomlfile.Duration `toml:"backlog_warning"`
	BacklogCritical tomlfile.Duration `toml:"backlog_critical"`
	// LossAlert is how long the spooler's service stays CRITICAL after
	// results were lost, unless an administrator acknowledges it sooner
	// (`picket spool ack`).
	LossAlert tomlfile.Duration `toml:"loss_alert"`
	// ClockSkewWarning is how far a target's clock may be from this
	// host's before the spooler's service warns.
	ClockSkewWarning tomlfile.Duration `toml:"clock_skew_warning"`
	// HostResult makes the agent report its host UP, with its version and
	// uptime, with each health report: the host object's freshness then
	// turns a dead or unreachable agent's host DOWN in Nagios. Default on.
	HostResult *bool `toml:"host_result"`
}

// Defaults of [health].
const (
	DefaultHealthInterval = 5 * time.Minute
	DefaultPollerService  = "picket_poller"
)

// On reports whether self-reporting is enabled (the default).
func (h Health) On() bool { return h.Enabled == nil || *h.Enabled }

// HostResultOn reports whether the agent reports its host's state: with
// health reports on, unless host_result = false.
func (h Health) HostResultOn() bool { return h.On() && (h.HostResult == nil || *h.HostResult) }

// Target is one server results go to: an NSCA receiver (kind "nsca", the
// default: the nsca daemon or picket server) or Icinga 2's API (kind
// "icinga2"). Every group of targets gets every result; within a group,
// the first target that is up gets them (failover).
type Target struct {
	Kind string `toml:"kind"`
	// Address is an NSCA target's host:port; for Icinga 2 it is derived
	// from URL, to name the target in logs and stats.
	Address string `toml:"address"`
	// Group names a failover chain: targets sharing it are tried in file
	// order and share one position in the spool. Empty: a group of one.
	Group        string            `toml:"group"`
	Encryption   string            `toml:"encryption"`
	PasswordFile string            `toml:"password_file"`
	Legacy       bool              `toml:"legacy"`
	Timeout      tomlfile.Duration `toml:"timeout"`

	// Icinga 2's API: its URL, the API user (with password_file) or a
	// client certificate, the CA that signed the server's certificate,
	// and the name to verify it under when it is not the URL's host.
	URL        string `toml:"url"`
	User       string `toml:"user"`
	CertFile   string `toml:"cert_file"`
	KeyFile    string `toml:"key_file"`
	CAFile     string `toml:"ca_file"`
	ServerName string `toml:"server_name"`

	// Method is Encryption parsed.
	Method nsca.Method `toml:"-"`
	// secretSum fingerprints the password as loaded, so a reload that
	// only changes the password file's content still counts as a change.
	secretSum [sha256.Size]byte
}

// Target kinds.
const (
	KindNSCA    = "nsca"
	KindIcinga2 = "icinga2"
)

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
	PublicKey string `toml:"public_key"`
	// Identity, TLS and proxy settings: see externals.go.
	PublicKeys         []string          `toml:"public_keys"`
	Proxy              string            `toml:"proxy"`
	PinSHA256          []string          `toml:"pin_sha256"`
	InsecureSkipVerify bool              `toml:"insecure_skip_verify"`
	Interval           tomlfile.Duration `toml:"interval"`
	// MaxStale is how long the last-known-good externals keep running
	// without the server confirming them; after it, auto-config mode.
	MaxStale tomlfile.Duration `toml:"max_stale"`
	Timeout  tomlfile.Duration `toml:"timeout"`
	MaxSize  tomlfile.Size     `toml:"max_size"`
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
	MaxBackoff tomlfile.Duration `toml:"max_backoff"`
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
	c, err := parsePartial(file, data, hostname)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parsePartial is parse that keeps the config when it has problems (see
// LoadPartial); the config is nil only when the file does not decode.
func parsePartial(file string, data []byte, hostname string) (*Config, error) {
	if err := complete(file, data); err != nil {
		return nil, err
	}
	c := &Config{File: file}
	if err := tomlfile.Decode(file, data, c); err != nil {
		return nil, err
	}
	if hostname != "" {
		c.Hostname = hostname
	}
	probs := tomlfile.NewProblems(file, data)
	c.applyDefaults(probs)
	c.applySpoolDefaults(probs)
	c.applyExternalsDefaults(probs)
	c.Log.Resolve(probs.Add)
	c.Metrics.Resolve(probs.Add)
	c.checkTargets(probs)
	c.checkGroups(probs)
	c.checkRunner(probs)
	c.loadSecrets(probs)
	c.Checks = checkspec.Resolve(probs, c.CheckList, c.Defaults, c.Macros, c.Hostname, c.HostAddress)
	c.Origins = checkspec.Origins(file, data, c.CheckList, c.Hostname)
	return c, probs.Err()
}

// complete refuses a file that is empty or does not end with a line
// break: what a config management run that stopped half-way leaves. Such a
// file may still parse, as a config with no targets and no checks, or with
// its last number cut short, and applying it on a reload would stop
// sending and checking without a word. Every editor and every template
// ends a file with a line break.
func complete(file string, data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &tomlfile.Error{Problems: []tomlfile.Problem{{File: file,
			Msg: "the file is empty, as a write that stopped half-way leaves it; an agent with nothing configured is still a file of comments (see the packaged picket.toml)"}}}
	}
	if data[len(data)-1] != '\n' {
		return &tomlfile.Error{Problems: []tomlfile.Problem{{File: file, Line: bytes.Count(data, []byte("\n")) + 1,
			Msg: "the file does not end with a line break, as a write that stopped half-way leaves it; if it is complete, end it with a newline"}}}
	}
	return nil
}

func (c *Config) checkTargets(probs *tomlfile.Problems) {
	for i := range c.Targets {
		t := &c.Targets[i]
		f := "target[" + strconv.Itoa(i) + "]"
		switch t.Kind {
		case "", KindNSCA:
			t.Kind = KindNSCA
			checkNSCATarget(probs, f, t)
		case KindIcinga2:
			checkIcingaTarget(probs, f, t)
		default:
			probs.Add(f+".kind", fmt.Sprintf("%q: want \"nsca\" (the default) or \"icinga2\"", t.Kind))
			continue
		}
		if t.PasswordFile != "" {
			if err := CheckSecretFile(t.PasswordFile); err != nil {
				probs.Add(f+".password_file", err.Error())
			} else if pw, err := ReadSecret(t.PasswordFile); err != nil {
				probs.Add(f+".password_file", err.Error())
			} else {
				t.secretSum = sha256.Sum256(pw)
			}
		}
	}
}

func checkNSCATarget(probs *tomlfile.Problems, f string, t *Target) {
	if t.Address == "" {
		probs.Add(f+".address", "missing (want host:port)")
	} else if _, _, err := net.SplitHostPort(t.Address); err != nil {
		probs.Add(f+".address", fmt.Sprintf("%q is not host:port", t.Address))
	}
	for _, k := range []struct{ key, v string }{{"url", t.URL}, {"user", t.User}, {"cert_file", t.CertFile},
		{"key_file", t.KeyFile}, {"ca_file", t.CAFile}, {"server_name", t.ServerName}} {
		if k.v != "" {
			probs.Add(f+"."+k.key, "is an Icinga 2 setting: set kind = \"icinga2\", or leave it out for NSCA")
		}
	}
	if t.Encryption == "" {
		t.Encryption = "xor"
	}
	m, err := nsca.ParseMethod(t.Encryption)
	if err != nil {
		probs.Add(f+".encryption", err.Error())
	}
	t.Method = m
	if (err != nil || m != nsca.None) && t.PasswordFile == "" {
		probs.Add(f+".password_file", "missing: encryption "+t.Encryption+" needs a password")
	}
}

func checkIcingaTarget(probs *tomlfile.Problems, f string, t *Target) {
	if t.Address != "" {
		probs.Add(f+".address", "is an NSCA setting; an Icinga 2 target is named by its url")
	}
	u, err := url.Parse(t.URL)
	switch {
	case t.URL == "":
		probs.Add(f+".url", "missing: Icinga 2's API, e.g. \"https://icinga.example.com:5665\"")
	case err != nil || u.Scheme != "https" || u.Host == "":
		probs.Add(f+".url", fmt.Sprintf("%q is not an https URL (Icinga 2's API speaks TLS only)", t.URL))
	case u.User != nil:
		probs.Add(f+".url", "no credentials in the URL: use user and password_file")
	default:
		t.Address = u.Host
		if u.Port() == "" {
			t.Address = net.JoinHostPort(u.Hostname(), "5665")
		}
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"encryption", t.Encryption != ""}, {"legacy", t.Legacy}} {
		if k.set {
			probs.Add(f+"."+k.key, "is an NSCA setting, not Icinga 2's")
		}
	}
	switch {
	case t.CertFile != "" || t.KeyFile != "":
		if t.CertFile == "" || t.KeyFile == "" {
			probs.Add(f+".cert_file", "a client certificate needs both cert_file and key_file")
		}
		if t.KeyFile != "" {
			if err := CheckSecretFile(t.KeyFile); err != nil {
				probs.Add(f+".key_file", err.Error())
			}
		}
	case t.User == "" || t.PasswordFile == "":
		probs.Add(f+".user", "Icinga 2 needs user and password_file, or cert_file and key_file")
	}
	for _, k := range []struct{ key, path string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}} {
		if k.path != "" {
			if _, err := os.Stat(k.path); err != nil {
				probs.Add(f+"."+k.key, err.Error())
			}
		}
	}
}

// DefaultSecretsFile is where the platform keeps the agent's secrets.
func DefaultSecretsFile() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(programData(), "picket", "secrets.toml")
	}
	return "/etc/picket/secrets.toml"
}

// loadSecrets reads the secrets file, so a problem with it is a problem of
// the config, found at load like every other.
func (c *Config) loadSecrets(probs *tomlfile.Problems) {
	if c.SecretsFile == "" {
		c.SecretsFile = DefaultSecretsFile()
	} else if !filepath.IsAbs(c.SecretsFile) {
		probs.Add("secrets_file", fmt.Sprintf("%q is not an absolute path", c.SecretsFile))
		return
	}
	set, err := secrets.Load(c.SecretsFile)
	if err != nil {
		probs.Add("secrets_file", err.Error())
		return
	}
	c.Secrets = set
}

// checkRunner validates the settings of the plugin runner.
func (c *Config) checkRunner(probs *tomlfile.Problems) {
	for i, d := range c.PluginDirs {
		if d == "" || !filepath.IsAbs(d) {
			probs.Add("plugin_dirs", fmt.Sprintf("entry %d (%q) is not an absolute path", i+1, d))
		}
	}
	if c.MaxOutput < 0 {
		probs.Add("max_output", "must not be negative")
	} else if c.MaxOutput > 0 && c.MaxOutput < 512 {
		probs.Add("max_output", fmt.Sprintf("%d bytes is too small to hold a plugin's first line; use at least 512", c.MaxOutput))
	}
	if c.Concurrency < 0 {
		probs.Add("concurrency", "must not be negative")
	}
	for ext, argv := range c.Interpreters {
		if !strings.HasPrefix(ext, ".") {
			probs.Add("interpreters."+ext, "key must be a file extension starting with '.'")
		}
		if len(argv) == 0 || argv[0] == "" {
			probs.Add("interpreters."+ext, "needs an interpreter command, e.g. [\"powershell.exe\", \"-File\"]")
		}
	}
	c.Macros.Check(probs, "macros")
}

// Fingerprint stands for everything that makes the target what it is but
// its address and group (cipher, password as loaded, packet size, timeout),
// so a reload that changes any of it restarts the target's sender, and one
// that does not leaves it alone.
func (t *Target) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%t\x00%d\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00", t.Kind, t.Method, t.Legacy,
		t.Timeout.Duration, t.URL, t.User, t.CertFile, t.KeyFile, t.CAFile, t.ServerName)
	h.Write(t.secretSum[:])
	return hex.EncodeToString(h.Sum(nil)[:12])
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
