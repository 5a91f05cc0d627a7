package nagios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/readme"
)

// readmeSetupBlocks returns the fenced blocks of README's central set-up
// section, in order.
func readmeSetupBlocks(t *testing.T) []string {
	t.Helper()
	blocks, err := readme.Blocks("../../README.md", "### A complete central set-up on a fresh Nagios")
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// The set-up README gives works on Debian's Nagios as installed: its stock
// object files, the templates README says to add, and picket's objects for
// a host of each kind validate with no error and no warning.
func TestNagios4ReadmeSetupOnStockDebian(t *testing.T) {
	bin := nagios4Binary(t)
	var stock []string
	for _, f := range []string{"commands", "contacts", "timeperiods", "templates"} {
		p := "/etc/nagios4/objects/" + f + ".cfg"
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v (Debian's nagios4-common ships it; install nagios4-core)", p, err)
		}
		stock = append(stock, "cfg_file="+p)
	}
	// As Debian's nagios.cfg does: the plugins' command definitions
	// (check-host-alive, check_ping, ...) from monitoring-plugins-basic.
	if _, err := os.Stat("/etc/nagios-plugins/config/ping.cfg"); err != nil {
		t.Fatalf("%v (install Debian's monitoring-plugins-basic)", err)
	}
	stock = append(stock, "cfg_dir=/etc/nagios-plugins/config")
	blocks := readmeSetupBlocks(t)
	if len(blocks) == 0 || !strings.HasPrefix(blocks[0], "# picket-templates.cfg") {
		t.Fatalf("README's first set-up block is not picket-templates.cfg: %q", blocks)
	}
	n := newNagios4Stock(t, bin, stock, blocks[0])
	o := n.objects()
	o.Options = ObjectOptions{HostTemplate: "picket-host", ServiceTemplate: "picket-service"}
	hosts := []HostObject{
		{Name: "web01", Freshness: 11 * time.Minute, Services: []ServiceObject{{Name: "load", Freshness: 11 * time.Minute}}},
		{Name: "db01", CheckCommand: "check-host-alive", Services: []ServiceObject{{Name: "disk", Freshness: 11 * time.Minute}}},
		{Name: "router1", Services: []ServiceObject{{Name: "ping", Freshness: 5 * time.Minute}}},
	}
	if _, err := o.Sync(context.Background(), hosts); err != nil {
		t.Fatal(err)
	}
	out := n.verify(t)
	if !strings.Contains(out, "Checked 3 hosts.") {
		t.Errorf("nagios4 -v:\n%s", out)
	}
}

// newNagios4Stock is newNagios4 on Debian's stock object files plus extra
// objects, instead of the tests' minimal base.
func newNagios4Stock(t *testing.T, bin string, stock []string, extra string) *nagios4Setup {
	t.Helper()
	n := newNagios4(t, strings.Join(stock, "\n")+"\ncfg_file="+filepath.Join(t.TempDir(), "picket-templates.cfg")+"\n")
	n.Bin = bin
	// The minimal base must not hide what the stock files lack.
	if err := os.WriteFile(filepath.Join(n.Dir, "base.cfg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(n.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(cfg), "\n") {
		if p, ok := strings.CutPrefix(line, "cfg_file="); ok && strings.HasSuffix(p, "picket-templates.cfg") {
			if err := os.WriteFile(p, []byte(extra), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(n.CommandFile, nil, 0o600); err != nil { // Nagios is not running
		t.Fatal(err)
	}
	return n
}
