package config

import (
	"fmt"
	"os"
)

// LoadPartial is Load for diagnosis (`picket doctor`): it returns the
// config together with its problems (a *tomlfile.Error), so that whatever
// the problems do not touch can still be checked. The config is nil only
// when the file cannot be read or does not decode (a syntax error, a value
// of the wrong type, an unknown key); otherwise it holds what the file
// says, with defaults applied, and the fields a problem names may hold
// anything. The agent never runs such a config: Load refuses it.
func LoadPartial(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parsePartial(path, data, "")
}
