package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/term"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/secrets"
	"github.com/picket-monitoring/picket/internal/setup"
)

const secretUsage = `Usage: picket secret set NAME    [--config FILE]
       picket secret list           [--config FILE]
       picket secret remove NAME    [--config FILE]

Manages the agent's local secrets (secrets_file of the config, default
%s): values a check's command refers to as $SECRET:NAME$,
which stay on this host. set reads the value from standard input (without
echo on a terminal) and never prints it; list prints names only. A running
agent uses the change after a reload (SIGHUP, or restart the service).

Names are a letter, then letters, digits, '_', '.' or '-'. Values are at
least %d bytes: every occurrence of a value in plugin output is masked, and
a shorter one would mask ordinary text too.

Exit codes: 0 done; 2 failed; 3 usage.
`

func runSecret(_ context.Context, args []string, sio stdio) int {
	usage := func(w io.Writer) { fmt.Fprintf(w, secretUsage, config.DefaultSecretsFile(), secrets.MinLength) }
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if len(args) == 0 {
			usage(sio.err)
			return exitUsage
		}
		usage(sio.out)
		return exitOK
	}
	sub := args[0]
	fs := flag.NewFlagSet("secret "+sub, flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { usage(sio.err) }
	cfgPath := fs.String("config", config.DefaultPath(), "agent config, for its secrets_file")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	want := map[string]int{"set": 1, "remove": 1, "list": 0}
	n, ok := want[sub]
	if !ok || len(pos) != n {
		usage(sio.err)
		return exitUsage
	}
	path := secretsFileOf(*cfgPath)
	values, err := readSecrets(path)
	if err != nil {
		fmt.Fprintf(sio.err, "picket secret: %v\n", err)
		return exitCritical
	}
	switch sub {
	case "list":
		for _, name := range secrets.New(values).Names() {
			fmt.Fprintln(sio.out, name)
		}
		return exitOK
	case "remove":
		name := pos[0]
		if _, ok := values[name]; !ok {
			fmt.Fprintf(sio.err, "picket secret: no secret %q in %s\n", name, path)
			return exitCritical
		}
		delete(values, name)
	case "set":
		name := pos[0]
		v, err := readValue(name, sio)
		if err == nil {
			err = secrets.Check(name, v)
		}
		if err != nil {
			fmt.Fprintf(sio.err, "picket secret: %v\n", err)
			return exitCritical
		}
		values[name] = v
	}
	if err := secrets.Save(path, values, setup.Private); err != nil {
		fmt.Fprintf(sio.err, "picket secret: %v\n", err)
		return exitCritical
	}
	fmt.Fprintf(sio.out, "%s: %d secrets; reload the agent to use the change\n", path, len(values))
	return exitOK
}

// secretsFileOf reads just secrets_file from the agent config, so the
// secrets can be fixed even while the rest of the config does not load.
func secretsFileOf(cfgPath string) string {
	var c struct {
		SecretsFile string `toml:"secrets_file"`
	}
	if _, err := toml.DecodeFile(cfgPath, &c); err != nil || c.SecretsFile == "" {
		return config.DefaultSecretsFile()
	}
	return c.SecretsFile
}

// readSecrets reads the file as it is, without refusing the values Load
// would, so that set and remove can repair it.
func readSecrets(path string) (map[string]string, error) {
	values := map[string]string{}
	_, err := toml.DecodeFile(path, &values)
	if errors.Is(err, os.ErrNotExist) {
		return values, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return values, nil
}

// readValue takes the secret from standard input: from a terminal without
// echo, else the first line.
func readValue(name string, sio stdio) (string, error) {
	if f, ok := sio.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(sio.err, "value of %s: ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(sio.err)
		if err != nil {
			return "", fmt.Errorf("read the value: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(sio.in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the value: %w", err)
	}
	v := strings.TrimRight(line, "\r\n")
	if v == "" {
		return "", errors.New("no value on standard input")
	}
	return v, nil
}

// parseInterspersed parses flags anywhere among the arguments, as people
// type them ("set NAME --config F"), and returns the others in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
