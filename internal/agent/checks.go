package agent

import (
	"log/slog"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
)

// LoadConfig reads the agent's config as the agent would: under the host
// name a registration assigned, if one did.
func LoadConfig(path string, logger *slog.Logger) (*config.Config, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return load(path, "", logger)
}

// Checks is every check an agent with cfg runs: its own, and those of the
// last-known-good externals of its host and monitored hosts, as read from
// state_dir, without fetching anything. The second result counts the
// externals' checks.
func Checks(cfg *config.Config, logger *slog.Logger) ([]check.Check, int, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newExtManager(cfg, "", logger)
	if err != nil || m == nil {
		return cfg.Checks, 0, err
	}
	ext := m.checks()
	return mergeChecks(cfg.Checks, ext, logger), len(ext), nil
}
