package icinga2

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/icingatest"
)

// GET /v1 against the real Icinga: the user and its permissions with the
// right password, ErrUnauthorized with a wrong one, and the certificate
// Icinga presented either way.
func TestIcingaPing(t *testing.T) {
	in := icinga(t)
	info, err := clientFor(t, in, nil).Ping(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.User != icingatest.User || !strings.HasPrefix(info.Version, "r2.") ||
		!info.Can("actions/process-check-result") || info.Can("actions/reschedule-check") {
		t.Errorf("got %+v", info)
	}
	if info.Certificate == nil || info.Certificate.Subject.CommonName != icingatest.NodeName ||
		!info.Certificate.NotAfter.After(time.Now()) {
		t.Errorf("certificate %+v", info.Certificate)
	}

	_, err = clientFor(t, in, func(cfg *Config) { cfg.Password = "wrong" }).Ping(context.Background())
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), in.Password) {
		t.Errorf("wrong password: %v, want ErrUnauthorized", err)
	}
	_, err = clientFor(t, in, func(cfg *Config) { cfg.ServerName = "icinga.example.com" }).Ping(context.Background())
	if !errors.Is(err, ErrCertificateName) {
		t.Errorf("wrong server name: %v, want ErrCertificateName", err)
	}
}

func TestPermissionWildcards(t *testing.T) {
	for _, tt := range []struct {
		perms []string
		want  bool
	}{
		{[]string{"*"}, true},
		{[]string{"actions/*"}, true},
		{[]string{"actions/process-check-result"}, true},
		{[]string{"a*/*-result"}, true},
		{[]string{"objects/query/*", "actions/process-check-result"}, true},
		{[]string{"actions/reschedule-check"}, false},
		{[]string{"objects/*"}, false},
		{[]string{"actions/process-check-result/x"}, false},
		{nil, false},
	} {
		if got := (Info{Permissions: tt.perms}).Can("actions/process-check-result"); got != tt.want {
			t.Errorf("%q: Can = %v, want %v", tt.perms, got, tt.want)
		}
	}
}
