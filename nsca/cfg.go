package nsca

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClientConfig is what send_nsca.cfg holds.
type ClientConfig struct {
	Password []byte
	Method   Method
	Legacy   bool
}

// ServerConfig is the part of nsca.cfg a replacement daemon needs. Options
// that only concern the C daemon's process model (nsca_user, pid_file,
// log_facility, ...) are accepted and listed in Ignored.
type ServerConfig struct {
	Address     string // server_address; empty means every interface
	Port        int    // server_port
	Password    []byte
	Method      Method // decryption_method
	CommandFile string
	// CheckResultPath, when set, is where nsca writes result files for
	// Nagios to read instead of using the command file.
	CheckResultPath string
	AppendToFile    bool
	MaxPacketAge    time.Duration
	Ignored         []string // names of accepted options with no effect here
}

// ConfigError points at one line of an nsca config file.
type ConfigError struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *ConfigError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Key, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// cfgLine is one "name=value" line, split as the C parsers do: the name runs
// to the first '=', the value is the rest of the line, kept byte for byte
// (a trailing CR or space is part of a password for send_nsca and nsca too,
// so both ends of a connection must read it the same way).
type cfgLine struct {
	line        int
	name, value string
}

func readCfgLines(r io.Reader, file string) ([]cfgLine, error) {
	var out []cfgLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		if text == "" || text[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(text, "=")
		if !ok || value == "" {
			return nil, &ConfigError{File: file, Line: n, Key: name, Err: errors.New("no value (want name=value)")}
		}
		if name == "" {
			return nil, &ConfigError{File: file, Line: n, Err: errors.New("no variable name")}
		}
		out = append(out, cfgLine{line: n, name: name, value: value})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return out, nil
}

// ReadClientConfigFile reads a send_nsca.cfg.
func ReadClientConfigFile(path string) (ClientConfig, error) {
	return readConfigFile(path, "send_nsca config", ReadClientConfig)
}

func readConfigFile[T any](path, what string, parse func(io.Reader, string) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("open %s: %w", what, err)
	}
	defer f.Close()
	return parse(f, path)
}

// ReadClientConfig parses send_nsca.cfg syntax. Unlike send_nsca, an
// encryption_method that is not a known number is an error rather than 0.
func ReadClientConfig(r io.Reader, file string) (ClientConfig, error) {
	lines, err := readCfgLines(r, file)
	if err != nil {
		return ClientConfig{}, err
	}
	var c ClientConfig
	for _, l := range lines {
		fail := func(err error) error { return &ConfigError{File: file, Line: l.line, Key: l.name, Err: err} }
		// send_nsca matches option names by substring; so do we, in the
		// same order, so that any file it accepts means the same here.
		switch {
		case strings.Contains(l.name, "password"):
			c.Password = []byte(l.value)
		case strings.Contains(l.name, "encryption_method"):
			m, err := ParseMethod(l.value)
			if err != nil {
				return ClientConfig{}, fail(err)
			}
			c.Method = m
		case strings.Contains(l.name, "legacy_2_7_mode"):
			v, err := parseBool(l.value)
			if err != nil {
				return ClientConfig{}, fail(err)
			}
			c.Legacy = v
		default:
			return ClientConfig{}, fail(errors.New("unknown option"))
		}
	}
	return c, nil
}

// ReadServerConfigFile reads an nsca.cfg.
func ReadServerConfigFile(path string) (ServerConfig, error) {
	return readConfigFile(path, "nsca config", ReadServerConfig)
}

// ReadServerConfig parses nsca.cfg syntax, with nsca's defaults (port 5667,
// max_packet_age 30s, which nsca 2.10 ignores but picket applies).
func ReadServerConfig(r io.Reader, file string) (ServerConfig, error) {
	lines, err := readCfgLines(r, file)
	if err != nil {
		return ServerConfig{}, err
	}
	c := ServerConfig{Port: 5667, MaxPacketAge: 30 * time.Second}
	for _, l := range lines {
		fail := func(err error) error { return &ConfigError{File: file, Line: l.line, Key: l.name, Err: err} }
		switch {
		case l.name == "server_port":
			p, err := strconv.Atoi(strings.TrimSpace(l.value))
			if err != nil || p < 1 || p > 65535 {
				return ServerConfig{}, fail(fmt.Errorf("invalid port %q", l.value))
			}
			c.Port = p
		case l.name == "server_address":
			c.Address = strings.TrimSpace(l.value)
		case strings.Contains(l.name, "command_file"):
			c.CommandFile = l.value
		case strings.Contains(l.name, "check_result_path"):
			c.CheckResultPath = strings.TrimSpace(l.value)
		case strings.Contains(l.name, "alternate_dump_file"):
			c.Ignored = append(c.Ignored, l.name)
		case strings.Contains(l.name, "password"):
			c.Password = []byte(l.value)
		case strings.Contains(l.name, "decryption_method"):
			m, err := ParseMethod(l.value)
			if err != nil {
				return ServerConfig{}, fail(err)
			}
			c.Method = m
		case strings.Contains(l.name, "append_to_file"):
			v, err := parseBool(l.value)
			if err != nil {
				return ServerConfig{}, fail(err)
			}
			c.AppendToFile = v
		case l.name == "max_packet_age":
			n, err := strconv.ParseUint(strings.TrimSpace(l.value), 10, 32)
			if err != nil || n > 900 {
				return ServerConfig{}, fail(fmt.Errorf("want seconds from 0 to 900, got %q", l.value))
			}
			c.MaxPacketAge = time.Duration(n) * time.Second
		case strings.Contains(l.name, "debug"), strings.Contains(l.name, "strict_mode_spoofing"),
			strings.Contains(l.name, "aggregate_writes"),
			l.name == "nsca_user", l.name == "nsca_group", l.name == "nsca_chroot",
			l.name == "pid_file", l.name == "log_facility":
			c.Ignored = append(c.Ignored, l.name)
		default:
			return ServerConfig{}, fail(errors.New("unknown option"))
		}
	}
	return c, nil
}

// parseBool reads nsca's yes/no spellings, which it matches by substring.
func parseBool(s string) (bool, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("want yes/no, true/false or 1/0, got %q", s)
}
