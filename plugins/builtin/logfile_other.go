//go:build !unix && !windows

package builtin

import (
	"fmt"
	"os"
)

// Elsewhere there is no file identity to read: the fingerprint alone
// tells files apart.
func (System) logStat(name string) (logMeta, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return logMeta{}, err
	}
	return logMeta{Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Regular: fi.Mode().IsRegular()}, nil
}

func (s System) openLog(name string) (logReader, logMeta, error) {
	m, err := s.logStat(name)
	if err != nil {
		return nil, m, err
	}
	if !m.Regular {
		return nil, m, fmt.Errorf("%s: %w", name, errNotRegular)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, m, err
	}
	return f, m, nil
}
