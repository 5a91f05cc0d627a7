package icingatest

import (
	"fmt"
	"os"
	"path/filepath"
)

// permissions of both API users: what picket needs, and no more.
const permissions = `[ "actions/process-check-result", "objects/query/*", "objects/create/*" ]`

// configTemplate is a complete, minimal icinga2.conf: one node that is its
// own zone, the API on 127.0.0.1 only, the checker (which runs the
// freshness checks), and a debug log in which Icinga says when it skips a
// result older than the one it has. Templates use max_check_attempts = 1,
// so every state is hard at once, as a test expects.
const configTemplate = `const NodeName = %[1]q
const ZoneName = NodeName
include <itl>

object Endpoint NodeName {}
object Zone ZoneName { endpoints = [ NodeName ] }
object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = %[2]d }
object CheckerComponent "checker" {}
object FileLogger "debug-file" { severity = "debug"; path = %[3]q }

object ApiUser %[4]q { password = %[5]q; permissions = %[6]s }
object ApiUser %[7]q { client_cn = %[8]q; permissions = %[6]s }

template Host %[9]q {
  check_command = "passive"
  enable_active_checks = false
  max_check_attempts = 1
}
template Service %[10]q {
  check_command = "passive"
  enable_active_checks = false
  max_check_attempts = 1
}
template Service %[11]q {
  check_command = "passive"
  enable_active_checks = true
  check_interval = 1d
  max_check_attempts = 1
}

%[12]s
`

// writeConfig writes the instance's icinga2.conf (mode 0600: it holds the
// API password).
func (in *Instance) writeConfig(opts Options) error {
	conf := fmt.Sprintf(configTemplate, NodeName, in.port, in.debugLog(),
		User, in.Password, permissions, CertUser, ClientCN,
		HostTemplate, ServiceTemplate, FreshServiceTemplate, opts.Objects)
	if err := os.WriteFile(in.confFile(), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("icingatest: %w", err)
	}
	return nil
}

func (in *Instance) debugLog() string { return filepath.Join(in.Dir, "log", "debug.log") }
