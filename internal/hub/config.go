package hub

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/tomlfile"
	"github.com/picket-monitoring/picket/nsca"
)

// Config is picket server's TOML file. Every section is optional; a server
// with no section has nothing to do and says so.
type Config struct {
	// StateDir holds the registry of agents.
	StateDir     string              `toml:"state_dir"`
	NSCA         *NSCAConfig         `toml:"nsca"`
	HTTP         *HTTPConfig         `toml:"http"`
	Externals    *ExternalsConfig    `toml:"externals"`
	Registration *RegistrationConfig `toml:"registration"`
	Nagios       *NagiosConfig       `toml:"nagios"`
	Icinga2      *IcingaConfig       `toml:"icinga2"`
	Log          config.Log          `toml:"log"`
	Metrics      config.Metrics      `toml:"metrics"`

	// ControlSocket is where `picket server status` reaches the running
	// server; empty: ControlPath's default, in StateDir.
	ControlSocket string `toml:"control_socket"`

	File string `toml:"-"`
	// Version is the running binary's, set by the caller for status.
	Version string `toml:"-"`
}

// NSCAConfig is the [nsca] section: the receiver that replaces the nsca
// daemon.
type NSCAConfig struct {
	Listen       string `toml:"listen"`
	Encryption   string `toml:"encryption"`
	PasswordFile string `toml:"password_file"`
	CommandFile  string `toml:"command_file"`
	// CheckResultPath, when set, gets a result file per result instead
	// of a line in CommandFile, as nsca does with check_result_path.
	CheckResultPath string            `toml:"check_result_path"`
	MaxPacketAge    tomlfile.Duration `toml:"max_packet_age"`
	ReadTimeout     tomlfile.Duration `toml:"read_timeout"`
	MaxConns        int               `toml:"max_connections"`
	// MaxConnsPerSource caps the connections from one address (default
	// an eighth of max_connections), so one client cannot lock the
	// others out.
	MaxConnsPerSource int `toml:"max_connections_per_source"`
	QueueSize         int `toml:"queue_size"`
	// ReportHost, when set, is the Nagios host the server reports its own
	// health on, as the passive service ReportService, every
	// ReportInterval: CRITICAL for LossAlert after results were dropped.
	ReportHost     string            `toml:"report_host"`
	ReportService  string            `toml:"report_service"`
	ReportInterval tomlfile.Duration `toml:"report_interval"`
	LossAlert      tomlfile.Duration `toml:"loss_alert"`

	// Resolved at load.
	Method   nsca.Method `toml:"-"`
	Password []byte      `toml:"-"`
}

// Defaults for [nsca].
const (
	DefaultListen         = "0.0.0.0:5667"
	DefaultQueueSize      = 100000
	DefaultMaxPacketAge   = 5 * time.Minute
	DefaultReportService  = "picket_server"
	DefaultReportInterval = time.Minute
	DefaultLossAlert      = 24 * time.Hour
)

// ErrNothingToServe is a config that enables neither the NSCA receiver
// nor the HTTP side: picket server has nothing to do and refuses to run.
var ErrNothingToServe = errors.New("nothing to serve: the config has neither [nsca] nor [http]")

// DefaultConfigPath is where picket server looks without --config.
const DefaultConfigPath = "/etc/picket/server.toml"

// LoadConfig reads and validates a server config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read server config: %w", err)
	}
	c := &Config{File: path}
	if err := tomlfile.Decode(path, data, c); err != nil {
		return nil, err
	}
	// Every section is checked, so that one run lists every problem.
	probs := tomlfile.NewProblems(path, data)
	c.Log.Resolve(probs.Add)
	c.Metrics.Resolve(probs.Add)
	if p := c.ControlSocket; p != "" && !filepath.IsAbs(p) && !strings.HasPrefix(p, `\\.\pipe\`) {
		probs.Add("control_socket", fmt.Sprintf("%q: want an absolute path (a named pipe \\\\.\\pipe\\NAME on Windows)", p))
	}
	errs := []error{probs.Err()}
	if c.NSCA != nil {
		errs = append(errs, c.NSCA.resolve(path, data))
	}
	errs = append(errs, c.resolveHTTP(path, data))
	if c.Icinga2 != nil {
		probs := tomlfile.NewProblems(path, data)
		c.Icinga2.resolve(probs)
		if c.Externals == nil {
			probs.Add("icinga2", "needs [externals]: the objects come from the hosts' externals and registrations")
		}
		errs = append(errs, probs.Err())
	}
	if err := joinProblems(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// joinProblems merges the *tomlfile.Error of each step into one, in file
// order; an error of another kind is returned as it is.
func joinProblems(errs ...error) error {
	var all []tomlfile.Problem
	for _, err := range errs {
		var te *tomlfile.Error
		switch {
		case err == nil:
		case errors.As(err, &te):
			all = append(all, te.Problems...)
		default:
			return err
		}
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
	return &tomlfile.Error{Problems: all}
}

func (n *NSCAConfig) resolve(file string, data []byte) error {
	probs := tomlfile.NewProblems(file, data)
	add := func(field, msg string) { probs.Add("nsca."+field, msg) }
	if n.Listen == "" {
		n.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(n.Listen); err != nil {
		add("listen", fmt.Sprintf("%q is not host:port", n.Listen))
	}
	if n.Encryption == "" {
		add("encryption", "missing (a method name like \"aes256\" or a number; \"none\" to send in clear)")
	} else if m, err := nsca.ParseMethod(n.Encryption); err != nil {
		add("encryption", err.Error())
	} else {
		n.Method = m
	}
	if n.PasswordFile != "" {
		pw, err := config.ReadSecret(n.PasswordFile)
		if err == nil {
			err = config.CheckSecretFile(n.PasswordFile)
		}
		if err != nil {
			add("password_file", err.Error())
		}
		n.Password = pw
	} else if n.Method != nsca.None {
		add("password_file", "missing: encryption "+n.Encryption+" needs a password")
	}
	if n.CommandFile == "" && n.CheckResultPath == "" {
		add("command_file", "missing (Nagios' external command file, e.g. /var/lib/nagios4/rw/nagios.cmd, or check_result_path)")
	}
	if n.CheckResultPath != "" {
		if st, err := os.Stat(n.CheckResultPath); err != nil || !st.IsDir() {
			add("check_result_path", fmt.Sprintf("%s is not a folder (Nagios' check_result_path, e.g. /var/lib/nagios4/spool/checkresults)", n.CheckResultPath))
		}
	}
	if n.MaxPacketAge.Duration == 0 {
		n.MaxPacketAge.Duration = DefaultMaxPacketAge
	}
	if n.MaxConns < 0 {
		add("max_connections", "must not be negative")
	}
	if n.MaxConnsPerSource < 0 {
		add("max_connections_per_source", "must not be negative")
	} else if n.MaxConns > 0 && n.MaxConnsPerSource > n.MaxConns {
		add("max_connections_per_source", fmt.Sprintf("%d is more than max_connections (%d)", n.MaxConnsPerSource, n.MaxConns))
	}
	if n.QueueSize == 0 {
		n.QueueSize = DefaultQueueSize
	} else if n.QueueSize < 0 {
		add("queue_size", "must not be negative")
	}
	n.ReportService = cmp.Or(n.ReportService, DefaultReportService)
	if strings.ContainsAny(n.ReportHost+n.ReportService, ";\t\r\n") {
		add("report_host", "no ';', tabs or line breaks in report_host and report_service")
	}
	if n.ReportInterval.Duration == 0 {
		n.ReportInterval.Duration = DefaultReportInterval
	} else if n.ReportInterval.Duration < 10*time.Second {
		add("report_interval", "at least 10s")
	}
	if n.LossAlert.Duration == 0 {
		n.LossAlert.Duration = DefaultLossAlert
	}
	return probs.Err()
}

// FromNSCAConfig builds the [nsca] section from an nsca daemon's nsca.cfg,
// so picket can replace the daemon without touching Nagios.
func FromNSCAConfig(c nsca.ServerConfig) (*NSCAConfig, error) {
	if c.CommandFile == "" && c.CheckResultPath == "" {
		return nil, errors.New("nsca.cfg has no command_file")
	}
	n := &NSCAConfig{
		Listen:          net.JoinHostPort(c.Address, strconv.Itoa(c.Port)),
		Encryption:      c.Method.String(),
		Method:          c.Method,
		Password:        c.Password,
		CommandFile:     c.CommandFile,
		CheckResultPath: c.CheckResultPath,
		QueueSize:       DefaultQueueSize,
	}
	n.MaxPacketAge.Duration = c.MaxPacketAge
	return n, nil
}
