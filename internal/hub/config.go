package hub

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
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

	File string `toml:"-"`
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
	QueueSize       int               `toml:"queue_size"`
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
	var probs []tomlfile.Problem
	add := func(field, msg string) {
		probs = append(probs, tomlfile.Problem{File: path, Line: tomlfile.FieldLine(data, field), Field: field, Msg: msg})
	}
	c.Log.Resolve(add)
	c.Metrics.Resolve(add)
	if len(probs) > 0 {
		return nil, &tomlfile.Error{Problems: probs}
	}
	if c.NSCA != nil {
		if err := c.NSCA.resolve(path); err != nil {
			return nil, err
		}
	}
	if err := c.resolveHTTP(path, data); err != nil {
		return nil, err
	}
	if c.Icinga2 != nil {
		probs := tomlfile.NewProblems(path, data)
		c.Icinga2.resolve(probs)
		if c.Externals == nil {
			probs.Add("icinga2", "needs [externals]: the objects come from the hosts' externals and registrations")
		}
		if err := probs.Err(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (n *NSCAConfig) resolve(file string) error {
	var probs []tomlfile.Problem
	add := func(field, msg string) {
		probs = append(probs, tomlfile.Problem{File: file, Field: "nsca." + field, Msg: msg})
	}
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
	if len(probs) > 0 {
		return &tomlfile.Error{Problems: probs}
	}
	return nil
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
