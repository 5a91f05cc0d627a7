//go:build linux

package packagetest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The deb and rpm are built by packaging/linux/build.sh, as `make package`
// does, and read back with dpkg-deb and rpm. The deb is installed,
// upgraded, removed and purged on this machine (TestDebInstall); the rpm is
// installed into a throwaway root. The maintainer scripts' systemd branches
// run against a stand-in systemctl in a private mount namespace, since the
// test machine has no systemd running.

const (
	linuxVersion = "1.2.3"
	linuxEpoch   = 1700000000 // SOURCE_DATE_EPOCH of the packages the tests read
	linuxMaint   = "picket maintainers"
	linuxHome    = "https://github.com/picket-monitoring/picket"
	linuxSummary = "Nagios-compatible passive check agent"
	// linuxUpgradeMark is appended to the shipped config in the 1.2.4
	// built for the upgrade tests, so that its conffile differs from
	// 1.2.3's and dpkg and rpm must choose between it and the admin's edit.
	linuxUpgradeMark = "# changed in 1.2.4 (test)\n"
)

// linuxPkgs are the two files one build.sh run made.
type linuxPkgs struct{ deb, rpm string }

// linuxArch is the machine's architecture in dpkg's and rpm's names:
// linuxBin is built for it.
func linuxArch(t *testing.T) (deb, rpm string) {
	t.Helper()
	switch runtime.GOARCH {
	case "amd64":
		return "amd64", "x86_64"
	case "arm64":
		return "arm64", "aarch64"
	}
	t.Fatalf("packaging/linux builds amd64 and arm64 only, not %s", runtime.GOARCH)
	return "", ""
}

func linuxSrcDir() string { return filepath.Join(repoRoot, "packaging", "linux") }

// linuxEnv is build.sh's environment for picket built for this machine.
func linuxEnv(t *testing.T, version, out string, epoch int64) []string {
	arch, _ := linuxArch(t)
	return []string{
		"VERSION=" + version, "ARCH=" + arch, "BIN=" + linuxBin, "OUT=" + out,
		"SOURCE_DATE_EPOCH=" + strconv.FormatInt(epoch, 10),
	}
}

// buildLinux runs script (a build.sh) from cwd and checks what it printed:
// exactly the deb's and the rpm's paths, under the names `make package`
// and the release notes rely on. out is OUT as build.sh resolves it.
func buildLinux(t *testing.T, script, cwd, out, pkgVersion string, env []string, shell ...string) linuxPkgs {
	t.Helper()
	p, err := tryBuildLinux(t, script, cwd, out, pkgVersion, env, shell...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tryBuildLinux(t *testing.T, script, cwd, out, pkgVersion string, env []string, shell ...string) (linuxPkgs, error) {
	debArch, rpmArch := linuxArch(t)
	args := append(append([]string{}, shell...), script)
	stdout, stderr, err := runErr(t, cwd, env, args[0], args[1:]...)
	if err != nil {
		return linuxPkgs{}, fmt.Errorf("%s: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout, stderr)
	}
	want := linuxPkgs{
		deb: filepath.Join(out, "picket_"+pkgVersion+"_"+debArch+".deb"),
		rpm: filepath.Join(out, "picket-"+pkgVersion+"-1."+rpmArch+".rpm"),
	}
	if got := strings.Split(strings.TrimSpace(stdout), "\n"); len(got) != 2 || got[0] != want.deb || got[1] != want.rpm {
		return linuxPkgs{}, fmt.Errorf("build.sh printed %q, want exactly the lines %q and %q", stdout, want.deb, want.rpm)
	}
	return want, nil
}

// Builds several tests read: 1.2.3 as shipped, and the 1.2.4 whose
// config differs, for the upgrade tests. Each is built once per test
// binary into the harness's temporary folder, which TestMain removes.
var linuxBuilds struct {
	mu   sync.Mutex
	done map[string]*linuxBuild
}

type linuxBuild struct {
	once sync.Once
	pkgs linuxPkgs
	err  error
}

func cachedLinux(t *testing.T, name string, build func(out string) (linuxPkgs, error)) linuxPkgs {
	t.Helper()
	needPackaging(t)
	linuxBuilds.mu.Lock()
	if linuxBuilds.done == nil {
		linuxBuilds.done = map[string]*linuxBuild{}
	}
	b := linuxBuilds.done[name]
	if b == nil {
		b = &linuxBuild{}
		linuxBuilds.done[name] = b
	}
	linuxBuilds.mu.Unlock()
	b.once.Do(func() {
		out := filepath.Join(filepath.Dir(filepath.Dir(linuxBin)), "linux-packages", name)
		b.pkgs, b.err = build(out)
	})
	if b.err != nil {
		t.Fatalf("building %s: %v", name, b.err)
	}
	return b.pkgs
}

// shippedLinux is 1.2.3 built from the repository's packaging/linux.
func shippedLinux(t *testing.T) linuxPkgs {
	t.Helper()
	return cachedLinux(t, "shipped", func(out string) (linuxPkgs, error) {
		return tryBuildLinux(t, filepath.Join(linuxSrcDir(), "build.sh"), t.TempDir(), out, linuxVersion, linuxEnv(t, linuxVersion, out, linuxEpoch))
	})
}

// upgradeLinux is 1.2.4 built from a copy of packaging/linux whose config
// ends in linuxUpgradeMark: an upgrade that ships a changed conffile.
func upgradeLinux(t *testing.T) linuxPkgs {
	t.Helper()
	return cachedLinux(t, "upgrade", func(out string) (linuxPkgs, error) {
		src := filepath.Join(filepath.Dir(out), "upgrade-src")
		if err := linuxCopyTree(linuxSrcDir(), src); err != nil {
			return linuxPkgs{}, err
		}
		f, err := os.OpenFile(filepath.Join(src, "picket.toml"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return linuxPkgs{}, err
		}
		_, err = f.WriteString(linuxUpgradeMark)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return linuxPkgs{}, err
		}
		return tryBuildLinux(t, filepath.Join(src, "build.sh"), t.TempDir(), out, "1.2.4", linuxEnv(t, "1.2.4", out, linuxEpoch))
	})
}

// linuxCopyTree copies a folder of regular files, keeping their modes.
func linuxCopyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, fi.Mode().Perm())
	})
}

func linuxRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func linuxScriptText(t *testing.T, name string) string {
	t.Helper()
	return linuxRead(t, filepath.Join(linuxSrcDir(), "scripts", name+".sh"))
}

// TestLinuxBuildNames: build.sh works from any folder with relative BIN
// and OUT, creates OUT, prints the two paths and leaves nothing else; the
// version becomes one dpkg and rpm both take and order as releases go.
func TestLinuxBuildNames(t *testing.T) {
	needPackaging(t)
	rpmTool := tool(t, "rpm", "rpm")
	tool(t, "dpkg-deb", "dpkg")
	for _, c := range []struct{ version, pkg string }{
		{"1.2.3+4.gabc1234", "1.2.3+4.gabc1234"}, // between tags, as the Makefile says it
		{"v1.2.3-rc.1", "1.2.3~rc.1"},            // a pre-release sorts before its release
	} {
		t.Run(c.version, func(t *testing.T) {
			cwd := t.TempDir()
			if err := os.Mkdir(filepath.Join(cwd, "in"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cwd, "in", "picket"), []byte(linuxRead(t, linuxBin)), 0o755); err != nil {
				t.Fatal(err)
			}
			arch, _ := linuxArch(t)
			env := []string{"VERSION=" + c.version, "ARCH=" + arch, "BIN=in/picket", "OUT=out/nested", "SOURCE_DATE_EPOCH=" + strconv.Itoa(linuxEpoch)}
			out := filepath.Join(cwd, "out", "nested")
			p := buildLinux(t, filepath.Join(linuxSrcDir(), "build.sh"), cwd, out, c.pkg, env)
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if want := []string{filepath.Base(p.rpm), filepath.Base(p.deb)}; strings.Join(names, " ") != strings.Join(want, " ") {
				t.Errorf("OUT holds %q, want only %q", names, want)
			}
			if got := strings.TrimSpace(run(t, "", nil, "dpkg-deb", "-f", p.deb, "Version")); got != c.pkg {
				t.Errorf("deb Version %q, want %q", got, c.pkg)
			}
			if got := run(t, "", nil, rpmTool, "-qp", "--qf", "%{VERSION}-%{RELEASE}", p.rpm); got != c.pkg+"-1" {
				t.Errorf("rpm version %q, want %q", got, c.pkg+"-1")
			}
		})
	}
	// The order both package managers must see, so upgrades go forward.
	order := []string{"1.2.3~rc.1", "1.2.3", "1.2.3+4.gabc1234", "1.2.3+10.gdef5678", "1.2.4~rc.1", "1.2.4"}
	for i := 0; i+1 < len(order); i++ {
		a, b := order[i], order[i+1]
		if _, _, err := runErr(t, "", nil, "dpkg", "--compare-versions", a, "lt", b); err != nil {
			t.Errorf("dpkg does not order %s before %s", a, b)
		}
		if got := strings.TrimSpace(run(t, "", nil, rpmTool, "--eval", fmt.Sprintf("%%{lua:print(rpm.vercmp('%s', '%s'))}", a, b))); got != "-1" {
			t.Errorf("rpm does not order %s before %s (vercmp %s)", a, b, got)
		}
	}
}

// TestLinuxBuildRejects: missing or wrong input stops build.sh before it
// builds anything, with a message naming what is wrong.
func TestLinuxBuildRejects(t *testing.T) {
	needPackaging(t)
	arch, _ := linuxArch(t)
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[arch]
	for _, c := range []struct {
		name string
		env  []string // over a valid environment
		want string
	}{
		{"no VERSION", []string{"VERSION="}, "VERSION is not set"},
		{"no ARCH", []string{"ARCH="}, "ARCH is not set"},
		{"no BIN", []string{"BIN="}, "BIN is not set"},
		{"no OUT", []string{"OUT="}, "OUT is not set"},
		{"no SOURCE_DATE_EPOCH", []string{"SOURCE_DATE_EPOCH="}, "SOURCE_DATE_EPOCH is not set"},
		{"epoch not a number", []string{"SOURCE_DATE_EPOCH=yesterday"}, "is not a number of seconds"},
		{"unknown arch", []string{"ARCH=i386"}, "ARCH=i386: want amd64 or arm64"},
		{"version without digits", []string{"VERSION=dev"}, "VERSION=dev: want digits first"},
		{"version with a space", []string{"VERSION=1.2 3"}, "want digits first"},
		{"missing binary", []string{"BIN=/nonexistent/picket"}, "BIN=/nonexistent/picket: no such file"},
		{"windows binary", []string{"BIN=" + windowsBin}, "is not a Linux (ELF) binary"},
		{"binary of the other arch", []string{"ARCH=" + other}, "is not built for " + other},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			env := append(linuxEnv(t, linuxVersion, out, linuxEpoch), c.env...)
			stdout, stderr, err := runErr(t, t.TempDir(), env, filepath.Join(linuxSrcDir(), "build.sh"))
			if err == nil {
				t.Fatalf("build.sh succeeded; stdout:\n%s", stdout)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not say %q", stderr, c.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("OUT holds %d entries after a refused build", len(entries))
			}
		})
	}
}

// linuxEntry is one package entry as an operator's tool shows it.
type linuxEntry struct{ mode, owner, flags string }

// TestDebContents: metadata, file list, owners, modes, conffiles and
// maintainer scripts of the deb, as dpkg-deb shows them, and the files
// themselves.
func TestDebContents(t *testing.T) {
	needPackaging(t)
	tool(t, "dpkg-deb", "dpkg")
	p := shippedLinux(t)
	debArch, _ := linuxArch(t)

	fields := map[string]string{}
	for _, line := range strings.Split(run(t, "", nil, "dpkg-deb", "-f", p.deb), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") {
			fields[k] = v
		}
	}
	for k, want := range map[string]string{
		"Package":      "picket",
		"Version":      linuxVersion,
		"Architecture": debArch,
		"Maintainer":   linuxMaint,
		"Section":      "admin",
		"Priority":     "optional",
		"Homepage":     linuxHome,
		"Recommends":   "monitoring-plugins-basic",
		"Suggests":     "monitoring-plugins-standard, nagios-plugins-contrib",
		"Description":  linuxSummary,
		"Depends":      "", // a static binary; the scripts use only required packages
		"Pre-Depends":  "",
	} {
		if fields[k] != want {
			t.Errorf("deb %s: %q, want %q", k, fields[k], want)
		}
	}

	got := map[string]linuxEntry{}
	for _, line := range strings.Split(strings.TrimSpace(run(t, "", nil, "dpkg-deb", "-c", p.deb)), "\n") {
		f := strings.Fields(line) // mode owner/group size date time name
		if len(f) != 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		got[f[5]] = linuxEntry{mode: f[0], owner: f[1]}
	}
	dir := linuxEntry{"drwxr-xr-x", "root/root", ""}
	want := map[string]linuxEntry{
		"./etc/":                              dir,
		"./etc/picket/":                       {"drwxr-x---", "root/picket", ""},
		"./etc/picket/picket.toml":            {"-rw-r-----", "root/picket", ""},
		"./etc/picket/plugins.d/":             dir,
		"./lib/":                              dir,
		"./lib/systemd/":                      dir,
		"./lib/systemd/system/":               dir,
		"./lib/systemd/system/picket.service": {"-rw-r--r--", "root/root", ""},
		"./usr/":                              dir,
		"./usr/bin/":                          dir,
		"./usr/bin/picket":                    {"-rwxr-xr-x", "root/root", ""},
		"./var/":                              dir,
		"./var/lib/":                          dir,
		"./var/lib/picket/":                   {"drwxr-x---", "picket/picket", ""},
	}
	linuxCompare(t, "deb", got, want)

	if got := run(t, "", nil, "dpkg-deb", "-I", p.deb, "conffiles"); got != "/etc/picket/picket.toml\n" {
		t.Errorf("deb conffiles %q, want only /etc/picket/picket.toml", got)
	}
	for member, script := range map[string]string{"preinst": "preinstall", "postinst": "postinstall", "prerm": "preremove", "postrm": "postremove"} {
		if got := run(t, "", nil, "dpkg-deb", "-I", p.deb, member); got != linuxScriptText(t, script) {
			t.Errorf("deb %s is not scripts/%s.sh:\n%s", member, script, got)
		}
	}

	x := t.TempDir()
	run(t, "", nil, "dpkg-deb", "-x", p.deb, x)
	for inPkg, src := range map[string]string{
		"usr/bin/picket":                    linuxBin,
		"lib/systemd/system/picket.service": filepath.Join(linuxSrcDir(), "picket.service"),
		"etc/picket/picket.toml":            filepath.Join(linuxSrcDir(), "picket.toml"),
	} {
		if linuxRead(t, filepath.Join(x, inPkg)) != linuxRead(t, src) {
			t.Errorf("deb's /%s is not %s", inPkg, src)
		}
	}
}

func linuxCompare(t *testing.T, pkg string, got, want map[string]linuxEntry) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s lacks %s", pkg, name)
		case g != w:
			t.Errorf("%s %s: %+v, want %+v", pkg, name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s holds unexpected %s", pkg, name)
		}
	}
}

// rpmFiles is the rpm's file list with modes, owners and flags.
func rpmFiles(t *testing.T, rpmTool, pkg string) map[string]linuxEntry {
	t.Helper()
	got := map[string]linuxEntry{}
	q := `[%{FILENAMES}\t%{FILEMODES:perms}\t%{FILEUSERNAME}/%{FILEGROUPNAME}\t%{FILEFLAGS:fflags}\n]`
	// Split on newlines only: a file without flags ends in a tab.
	for _, line := range strings.Split(strings.TrimSuffix(run(t, "", nil, rpmTool, "-qp", "--qf", q, pkg), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("rpm file line %q", line)
		}
		got[f[0]] = linuxEntry{mode: f[1], owner: f[2], flags: f[3]}
	}
	return got
}

// TestRPMContents: metadata, file list, owners, modes, config flags,
// dependencies and scriptlets of the rpm, as rpm shows them.
func TestRPMContents(t *testing.T) {
	needPackaging(t)
	rpmTool := tool(t, "rpm", "rpm")
	p := shippedLinux(t)
	_, rpmArch := linuxArch(t)

	header := run(t, "", nil, rpmTool, "-qp", "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{OS}|%{LICENSE}|%{URL}|%{SUMMARY}|%{PACKAGER}|%{BUILDHOST}|%{BUILDTIME}", p.rpm)
	if want := strings.Join([]string{"picket", linuxVersion, "1", rpmArch, "linux", "Apache-2.0", linuxHome, linuxSummary, linuxMaint, "picket-build", strconv.Itoa(linuxEpoch)}, "|"); header != want {
		t.Errorf("rpm header\n got %s\nwant %s", header, want)
	}
	info := run(t, "", nil, rpmTool, "-qp", "--info", p.rpm)
	if !strings.Contains(info, "Description :\n"+linuxSummary+"\npicket runs Nagios plugins") {
		t.Errorf("rpm --info description:\n%s", info)
	}

	want := map[string]linuxEntry{
		"/etc/picket":                            {"drwxr-x---", "root/picket", ""},
		"/etc/picket/picket.toml":                {"-rw-r-----", "root/picket", "cn"}, // %config(noreplace)
		"/etc/picket/plugins.d":                  {"drwxr-xr-x", "root/root", ""},
		"/usr/bin/picket":                        {"-rwxr-xr-x", "root/root", ""},
		"/usr/lib/systemd/system/picket.service": {"-rw-r--r--", "root/root", ""},
		"/var/lib/picket":                        {"drwxr-x---", "picket/picket", ""},
	}
	linuxCompare(t, "rpm", rpmFiles(t, rpmTool, p.rpm), want)
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	if got := strings.TrimSpace(run(t, "", nil, rpmTool, "-qpl", p.rpm)); got != strings.Join(names, "\n") {
		t.Errorf("rpm -ql:\n%s\nwant:\n%s", got, strings.Join(names, "\n"))
	}
	if got := strings.TrimSpace(run(t, "", nil, rpmTool, "-qp", "--configfiles", p.rpm)); got != "/etc/picket/picket.toml" {
		t.Errorf("rpm config files %q, want only /etc/picket/picket.toml", got)
	}

	lines := func(args ...string) string {
		return strings.Join(strings.Fields(run(t, "", nil, rpmTool, append([]string{"-qp"}, append(args, p.rpm)...)...)), " ")
	}
	for _, c := range []struct{ query, want string }{
		{"--requires", "/bin/sh /usr/sbin/useradd"},
		{"--recommends", "nagios-plugins-disk nagios-plugins-load nagios-plugins-procs nagios-plugins-swap nagios-plugins-tcp nagios-plugins-users"},
		{"--suggests", "nagios-plugins-all"},
		{"--conflicts", ""},
		{"--obsoletes", ""},
	} {
		if got := lines(c.query); got != c.want {
			t.Errorf("rpm %s: %q, want %q", c.query, got, c.want)
		}
	}

	// rpm --scripts: "<phase> scriptlet (using /bin/sh):" then the body.
	scripts := map[string]string{}
	var phase string
	head := regexp.MustCompile(`^(\w+) scriptlet \(using (.+)\):$`)
	for _, line := range strings.SplitAfter(run(t, "", nil, rpmTool, "-qp", "--scripts", p.rpm), "\n") {
		if m := head.FindStringSubmatch(strings.TrimSuffix(line, "\n")); m != nil {
			phase = m[1]
			if m[2] != "/bin/sh" {
				t.Errorf("rpm %s runs with %s, want /bin/sh", phase, m[2])
			}
			continue
		}
		scripts[phase] += line
	}
	for phase, script := range map[string]string{"preinstall": "preinstall", "postinstall": "postinstall", "preuninstall": "preremove", "postuninstall": "postremove"} {
		if strings.TrimSpace(scripts[phase]) != strings.TrimSpace(linuxScriptText(t, script)) {
			t.Errorf("rpm %s scriptlet is not scripts/%s.sh:\n%s", phase, script, scripts[phase])
		}
		delete(scripts, phase)
	}
	if len(scripts) > 0 {
		t.Errorf("rpm has unexpected scriptlets: %v", scripts)
	}
}

// TestRPMInstallRoot installs the rpm into a throwaway root (no scripts:
// rpm cannot chroot into an empty folder to run them): its files land
// where the file list says, owned by the root's own picket user, and an
// edited config survives an upgrade that ships a new one and is saved on
// erase.
func TestRPMInstallRoot(t *testing.T) {
	needPackaging(t)
	rpmTool := tool(t, "rpm", "rpm")
	p, up := shippedLinux(t), upgradeLinux(t)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	// rpm takes owners from the root's own account files.
	for name, data := range map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/sh\npicket:x:4242:4243::/var/lib/picket:/usr/sbin/nologin\n",
		"group":  "root:x:0:\npicket:x:4243:\n",
	} {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rpmIn := func(args ...string) string {
		return run(t, "", nil, rpmTool, append([]string{"--root", root, "--dbpath", "/rpmdb"}, args...)...)
	}
	rpmIn("-i", "--nodeps", "--noscripts", p.rpm)
	for path, want := range map[string]string{
		"etc/picket":                            "0:4243 750",
		"etc/picket/picket.toml":                "0:4243 640",
		"etc/picket/plugins.d":                  "0:0 755",
		"usr/bin/picket":                        "0:0 755",
		"usr/lib/systemd/system/picket.service": "0:0 644",
		"var/lib/picket":                        "4242:4243 750",
	} {
		if got := linuxOwnerMode(t, filepath.Join(root, path)); got != want {
			t.Errorf("/%s: %s, want %s", path, got, want)
		}
	}
	if linuxRead(t, filepath.Join(root, "usr/bin/picket")) != linuxRead(t, linuxBin) {
		t.Error("the installed /usr/bin/picket is not the binary packaged")
	}
	conf := filepath.Join(root, "etc/picket/picket.toml")
	edited := linuxRead(t, conf) + "hostname = \"edited\"\n"
	if err := os.WriteFile(conf, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}

	rpmIn("-U", "--nodeps", "--noscripts", up.rpm)
	if got := linuxRead(t, conf); got != edited {
		t.Errorf("upgrade replaced the edited config:\n%s", got)
	}
	if got := linuxRead(t, conf+".rpmnew"); got != linuxRead(t, filepath.Join(linuxSrcDir(), "picket.toml"))+linuxUpgradeMark {
		t.Errorf("picket.toml.rpmnew is not 1.2.4's config:\n%s", got)
	}
	_, rpmArch := linuxArch(t)
	if got := strings.TrimSpace(rpmIn("-qa")); got != "picket-1.2.4-1."+rpmArch {
		t.Errorf("installed after the upgrade: %q", got)
	}

	rpmIn("-e", "--nodeps", "--noscripts", "picket")
	if got := linuxRead(t, conf+".rpmsave"); got != edited {
		t.Errorf("erase did not keep the edited config as picket.toml.rpmsave:\n%s", got)
	}
	for _, gone := range []string{"usr/bin/picket", "usr/lib/systemd/system/picket.service", "etc/picket/picket.toml"} {
		if _, err := os.Stat(filepath.Join(root, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("/%s still there after erase (%v)", gone, err)
		}
	}
}

// linuxOwnerMode is "uid:gid mode" of path, mode in octal.
func linuxOwnerMode(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%d:%d %o", st.Uid, st.Gid, fi.Mode().Perm())
}

// TestLinuxReproducible: the same inputs give byte-identical packages
// whatever the folder, umask, and the binary's own mode and date; another
// SOURCE_DATE_EPOCH dates every file and header by it.
func TestLinuxReproducible(t *testing.T) {
	needPackaging(t)
	rpmTool := tool(t, "rpm", "rpm")
	tool(t, "dpkg-deb", "dpkg")
	a := shippedLinux(t)

	// Same inputs, different surroundings: run from /, umask 077, and a
	// copy of the binary with its own mode and date.
	bin := filepath.Join(t.TempDir(), "picket-copy")
	if err := os.WriteFile(bin, []byte(linuxRead(t, linuxBin)), 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(bin, old, old); err != nil {
		t.Fatal(err)
	}
	outB := t.TempDir()
	env := append(linuxEnv(t, linuxVersion, outB, linuxEpoch), "BIN="+bin)
	b := buildLinux(t, filepath.Join(linuxSrcDir(), "build.sh"), "/", outB, linuxVersion, env, "/bin/sh", "-c", `umask 077 && exec "$0"`)
	for _, pair := range [][2]string{{a.deb, b.deb}, {a.rpm, b.rpm}} {
		if x, y := linuxSHA(t, pair[0]), linuxSHA(t, pair[1]); x != y {
			t.Errorf("two builds of the same input differ: %s %s, %s %s", x, pair[0], y, pair[1])
		}
	}

	later := int64(linuxEpoch + 86400)
	outC := t.TempDir()
	c := buildLinux(t, filepath.Join(linuxSrcDir(), "build.sh"), t.TempDir(), outC, linuxVersion, linuxEnv(t, linuxVersion, outC, later))
	if linuxSHA(t, a.deb) == linuxSHA(t, c.deb) || linuxSHA(t, a.rpm) == linuxSHA(t, c.rpm) {
		t.Error("another SOURCE_DATE_EPOCH gave the same packages")
	}
	for _, x := range []struct {
		pkgs  linuxPkgs
		epoch int64
	}{{a, linuxEpoch}, {c, later}} {
		for _, member := range []string{"--fsys-tarfile", "--ctrl-tarfile"} {
			tr := tar.NewReader(strings.NewReader(run(t, "", nil, "dpkg-deb", member, x.pkgs.deb)))
			n := 0
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("dpkg-deb %s: %v", member, err)
				}
				n++
				if h.ModTime.Unix() != x.epoch {
					t.Errorf("deb %s %s dated %v, want %d", member, h.Name, h.ModTime.Unix(), x.epoch)
				}
			}
			if n == 0 {
				t.Errorf("deb %s is empty", member)
			}
		}
		for _, line := range strings.Fields(run(t, "", nil, rpmTool, "-qp", "--qf", `%{BUILDTIME}\n[%{FILEMTIMES}\n]`, x.pkgs.rpm)) {
			if line != strconv.FormatInt(x.epoch, 10) {
				t.Errorf("rpm date %s, want %d", line, x.epoch)
			}
		}
	}
}

func linuxSHA(t *testing.T, path string) string {
	t.Helper()
	return fmt.Sprintf("%x", sha256.Sum256([]byte(linuxRead(t, path))))
}

// linuxUnitDirectives reads a systemd unit: section -> key -> values in order.
func linuxUnitDirectives(t *testing.T, text string) map[string]map[string][]string {
	t.Helper()
	units := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			units[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				t.Fatalf("picket.service:%d: %q is not a directive of a section", i+1, line)
			}
			units[section][k] = append(units[section][k], v)
		}
	}
	return units
}

// TestLinuxUnit checks the systemd unit two ways: systemd-analyze verify
// (systemd's own parser, which works without systemd running) must have
// nothing to say, and the directives the agent and its plugins depend on
// are there, and those that would break plugins are not.
func TestLinuxUnit(t *testing.T) {
	needPackaging(t)
	analyze := tool(t, "systemd-analyze", "systemd")
	text := linuxRead(t, filepath.Join(linuxSrcDir(), "picket.service"))

	// verify insists that ExecStart's binary exists: point it at the
	// binary under test, change nothing else.
	copyDir := t.TempDir()
	unit := filepath.Join(copyDir, "picket.service")
	if !strings.Contains(text, "ExecStart=/usr/bin/picket ") {
		t.Fatal("picket.service does not start /usr/bin/picket")
	}
	if err := os.WriteFile(unit, []byte(strings.Replace(text, "ExecStart=/usr/bin/picket ", "ExecStart="+linuxBin+" ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := runErr(t, copyDir, nil, analyze, "verify", unit); err != nil || stdout+stderr != "" {
		t.Errorf("systemd-analyze verify: %v\n%s%s", err, stdout, stderr)
	}

	d := linuxUnitDirectives(t, text)
	for _, c := range []struct{ section, key, want string }{
		{"Unit", "After", "network.target"},
		{"Service", "Type", "simple"},
		{"Service", "User", "picket"},
		{"Service", "Group", "picket"},
		{"Service", "ExecStart", "/usr/bin/picket run --config /etc/picket/picket.toml"},
		{"Service", "ExecReload", "/bin/kill -HUP $MAINPID"},
		{"Service", "Restart", "on-failure"},
		{"Service", "KillMode", "mixed"},
		{"Service", "StateDirectory", "picket"},
		{"Service", "StateDirectoryMode", "0750"},
		{"Service", "LogsDirectory", "picket"},
		{"Service", "UMask", "0027"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "ProtectSystem", "full"},
		{"Service", "ProtectHome", "read-only"},
		// Each plugin run gets a cgroup below the service's own, so
		// that daemons it starts die with the run (plugins/doc.go).
		{"Service", "Delegate", "yes"},
		{"Install", "WantedBy", "multi-user.target"},
	} {
		if got := d[c.section][c.key]; len(got) != 1 || got[0] != c.want {
			t.Errorf("[%s] %s=%q, want %q once", c.section, c.key, got, c.want)
		}
	}
	seconds := func(key string) time.Duration {
		v := d["Service"][key]
		if len(v) != 1 {
			t.Fatalf("[Service] %s=%q, want one value", key, v)
		}
		dur, err := time.ParseDuration(v[0])
		if err != nil {
			t.Fatalf("[Service] %s=%s: %v", key, v[0], err)
		}
		return dur
	}
	// The agent stops its plugins (SIGKILL after kill_grace, 5s) and then
	// sends for up to 5s; systemd must not kill it first.
	if got := seconds("TimeoutStopSec"); got < 15*time.Second {
		t.Errorf("TimeoutStopSec=%v leaves no room for kill_grace (5s) and the last send (5s)", got)
	}
	// Below the default start limit (5 in 10s), so it is retried for ever.
	if got := seconds("RestartSec"); got < 3*time.Second {
		t.Errorf("RestartSec=%v would hit systemd's start limit and give up", got)
	}
	// Each of these turns NoNewPrivileges on for a service with User=
	// (systemd.exec(5)), and NoNewPrivileges breaks sudo and setuid
	// plugins (check_icmp, check_dhcp); the others hide what plugins check.
	for _, key := range []string{
		"NoNewPrivileges", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
		"ProtectClock", "ProtectHostname", "PrivateDevices", "LockPersonality", "RestrictRealtime",
		"RestrictSUIDSGID", "RestrictNamespaces", "RestrictAddressFamilies", "MemoryDenyWriteExecute",
		"SystemCallFilter", "SystemCallArchitectures", "SystemCallLog", "DynamicUser",
		"PrivateNetwork", "ProtectProc", "ProcSubset", "CapabilityBoundingSet", "PrivateUsers",
	} {
		if v, ok := d["Service"][key]; ok {
			t.Errorf("[Service] %s=%q would break plugins", key, v)
		}
	}
	// A read-only cgroup file system leaves the agent no cgroup per run.
	if v, ok := d["Service"]["ProtectControlGroups"]; ok {
		t.Errorf("[Service] ProtectControlGroups=%q would keep the agent from containing plugin runs in cgroups", v)
	}
}

// TestLinuxConfig: the shipped /etc/picket/picket.toml is valid as it is,
// is only comments (so the agent's own defaults, such as Red Hat's
// plugin folder, apply), and every setting it shows, uncommented, is one
// the agent's strict loader takes.
func TestLinuxConfig(t *testing.T) {
	needPackaging(t)
	path := filepath.Join(linuxSrcDir(), "picket.toml")
	text := linuxRead(t, path)
	run(t, "", nil, linuxBin, "config", "check", path)
	for i, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("picket.toml:%d: %q is not a comment", i+1, line)
		}
	}

	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	setting := regexp.MustCompile(`^# ([a-z_]+ = .*)$`)
	section := regexp.MustCompile(`^# (\[\[?[a-z.]+\]\]?)(\s+#.*)?$`)
	var out []string
	shown := 0
	for _, line := range strings.Split(text, "\n") {
		if m := section.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
			continue
		}
		m := setting.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		shown++
		key, _, _ := strings.Cut(m[1], " ")
		switch key {
		case "password_file", "token_file":
			out = append(out, key+" = "+strconv.Quote(secret))
		case "ca_file", "public_key":
			// Placeholders of files and keys a test machine lacks.
		default:
			out = append(out, m[1])
		}
	}
	if shown < 20 {
		t.Fatalf("found only %d example settings in picket.toml", shown)
	}
	example := filepath.Join(dir, "example.toml")
	if err := os.WriteFile(example, []byte(strings.Join(out, "\n")+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := runErr(t, "", nil, linuxBin, "config", "check", example); err != nil {
		t.Errorf("the example settings of picket.toml, uncommented, do not load: %v\n%s\n%s\n%s", err, stderr, strings.Join(out, "\n"), stdout)
	}
}

// needRoot fails the test when it cannot install packages.
func needRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatal("packagetest: installing packages needs root (CI runs as root)")
	}
}

// The lock that serialises package installs on this machine between the
// tests that install the deb, in this process and in others.
const dpkgLockFile = "/tmp/picket-dpkg.lock"

var dpkgMu sync.Mutex

// lockPackageInstalls takes the machine-wide install lock until the test
// ends. A lock that one of this process's ancestors holds, as
// `flock /tmp/picket-dpkg.lock go test ...` holds it, counts as taken:
// waiting on it would wait for ever.
func lockPackageInstalls(t *testing.T) {
	t.Helper()
	dpkgMu.Lock()
	f, err := os.OpenFile(dpkgLockFile, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		dpkgMu.Unlock()
		t.Fatal(err)
	}
	release := func() { f.Close(); dpkgMu.Unlock() }
	deadline := time.Now().Add(2 * commandDeadline)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			t.Cleanup(release) // closing the file releases the lock
			return
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			release()
			t.Fatalf("flock %s: %v", dpkgLockFile, err)
		}
		holder := dpkgLockHolder(f)
		if holder > 0 && isAncestorPid(holder) {
			t.Logf("%s is held by pid %d, an ancestor of this test", dpkgLockFile, holder)
			t.Cleanup(release)
			return
		}
		if time.Now().After(deadline) {
			release()
			t.Fatalf("%s still held by pid %d after %v", dpkgLockFile, holder, 2*commandDeadline)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dpkgLockHolder is the pid holding an exclusive flock on f, from /proc/locks
// ("1: FLOCK  ADVISORY  WRITE <pid> <major>:<minor>:<inode> 0 EOF").
func dpkgLockHolder(f *os.File) int {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	st := fi.Sys().(*syscall.Stat_t)
	major := (st.Dev>>8)&0xfff | (st.Dev>>32)&^0xfff
	minor := st.Dev&0xff | (st.Dev>>12)&^0xff
	id := fmt.Sprintf("%02x:%02x:%d", major, minor, st.Ino)
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(locks))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 6 && f[1] == "FLOCK" && f[3] == "WRITE" && f[5] == id {
			pid, _ := strconv.Atoi(f[4])
			return pid
		}
	}
	return 0
}

func isAncestorPid(pid int) bool {
	for p := os.Getppid(); p > 1; {
		if p == pid {
			return true
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			return false
		}
		// pid (comm) state ppid ...: comm may hold spaces and parens.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			return false
		}
		p, _ = strconv.Atoi(f[1])
	}
	return false
}

// dpkgStatus is the package's state in dpkg's database: installed,
// config-files, or "" when dpkg does not know it.
func dpkgStatus(t *testing.T) string {
	t.Helper()
	out, _, err := runErr(t, "", nil, "dpkg-query", "-W", "-f", "${db:Status-Status}", "picket")
	if err != nil || out == "not-installed" {
		return ""
	}
	return out
}

func linuxExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestDebInstall installs, upgrades, removes and purges the deb on this
// machine as an admin would (dpkg, non-interactive), and runs the
// maintainer scripts' systemd branches against a stand-in systemctl.
func TestDebInstall(t *testing.T) {
	needPackaging(t)
	needRoot(t)
	for _, c := range [][2]string{{"dpkg", "dpkg"}, {"dpkg-deb", "dpkg"}, {"getent", "libc-bin"}, {"runuser", "util-linux"}, {"unshare", "util-linux"}, {"userdel", "passwd"}, {"groupdel", "passwd"}} {
		tool(t, c[0], c[1])
	}
	p, up := shippedLinux(t), upgradeLinux(t)
	lockPackageInstalls(t)

	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	dpkg := func(args ...string) string { return run(t, "", env, "dpkg", args...) }
	// Whatever an earlier run left, and whatever this one leaves.
	purge := func() {
		// Any state dpkg knows, including "install ok not-installed"
		// after a failed first install.
		if _, _, err := runErr(t, "", nil, "dpkg-query", "-W", "picket"); err == nil {
			if _, stderr, err := runErr(t, "", env, "dpkg", "--purge", "picket"); err != nil {
				t.Errorf("dpkg --purge picket: %v\n%s", err, stderr)
			}
		}
	}
	purge()
	_, _, errU := runErr(t, "", nil, "getent", "passwd", "picket")
	_, _, errG := runErr(t, "", nil, "getent", "group", "picket")
	userBefore, groupBefore := errU == nil, errG == nil
	t.Cleanup(func() {
		purge()
		// Leave the accounts as this test found them.
		if !userBefore {
			if _, _, err := runErr(t, "", nil, "getent", "passwd", "picket"); err == nil {
				run(t, "", nil, "userdel", "picket")
			}
		}
		if !groupBefore {
			if _, _, err := runErr(t, "", nil, "getent", "group", "picket"); err == nil {
				run(t, "", nil, "groupdel", "picket")
			}
		}
	})

	dpkg("-i", p.deb)
	if st := dpkgStatus(t); st != "installed" {
		t.Fatalf("after dpkg -i: status %q", st)
	}
	pw := strings.Split(strings.TrimSpace(run(t, "", nil, "getent", "passwd", "picket")), ":")
	if len(pw) != 7 || pw[5] != "/var/lib/picket" || !strings.HasSuffix(pw[6], "nologin") {
		t.Errorf("user picket: %q, want home /var/lib/picket and no login shell", pw)
	}
	if uid, _ := strconv.Atoi(pw[2]); uid == 0 || uid >= 1000 {
		t.Errorf("user picket has uid %d, want a system uid", uid)
	}
	gr := strings.Split(strings.TrimSpace(run(t, "", nil, "getent", "group", "picket")), ":")
	if len(gr) < 3 || len(pw) < 4 || gr[2] != pw[3] {
		t.Errorf("group picket %q is not user picket's group (%q)", gr, pw)
	}
	wantModes := map[string]string{
		"/etc/picket":                        "root:picket 750",
		"/etc/picket/picket.toml":            "root:picket 640",
		"/etc/picket/plugins.d":              "root:root 755",
		"/var/lib/picket":                    "picket:picket 750",
		"/usr/bin/picket":                    "root:root 755",
		"/lib/systemd/system/picket.service": "root:root 644",
	}
	checkModes := func(when string) {
		t.Helper()
		for path, want := range wantModes {
			if got := strings.TrimSpace(run(t, "", nil, "stat", "-c", "%U:%G %a", path)); got != want {
				t.Errorf("%s: %s is %s, want %s", when, path, got, want)
			}
		}
	}
	checkModes("after install")
	if got := run(t, "", nil, "/usr/bin/picket", "version"); !strings.Contains(got, "1.2.3-test") {
		t.Errorf("picket version: %q", got)
	}
	// As the service runs it: the config must be readable by user picket.
	run(t, "", nil, "runuser", "-u", "picket", "--", "/usr/bin/picket", "config", "check", "/etc/picket/picket.toml")
	analyze := tool(t, "systemd-analyze", "systemd")
	if stdout, stderr, err := runErr(t, "/", nil, analyze, "verify", "/lib/systemd/system/picket.service"); err != nil || stdout+stderr != "" {
		t.Errorf("systemd-analyze verify of the installed unit: %v\n%s%s", err, stdout, stderr)
	}

	passwdLine := run(t, "", nil, "getent", "passwd", "picket")
	t.Run("scripts", func(t *testing.T) { debScripts(t) })
	if got := run(t, "", nil, "getent", "passwd", "picket"); got != passwdLine {
		t.Errorf("running the scripts again changed user picket: %q, was %q", got, passwdLine)
	}
	checkModes("after running the scripts again")

	// The agent's spool, and the admin's edit of the config.
	spool := "/var/lib/picket/spool/segment-test"
	if err := os.MkdirAll(filepath.Dir(spool), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spool, []byte("unsent results"), 0o640); err != nil {
		t.Fatal(err)
	}
	conf := "/etc/picket/picket.toml"
	edited := linuxRead(t, conf) + "hostname = \"edited-by-test\"\n"
	if err := os.WriteFile(conf, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}

	// Upgrade to a version that ships a changed config: the admin's edit
	// stays, the new one is put beside it, nothing asks.
	dpkg("-i", "--force-confold", up.deb)
	if got, _, _ := runErr(t, "", nil, "dpkg-query", "-W", "-f", "${Version} ${db:Status-Status}", "picket"); got != "1.2.4 installed" {
		t.Errorf("after the upgrade: %q, want 1.2.4 installed", got)
	}
	if got := linuxRead(t, conf); got != edited {
		t.Errorf("the upgrade overwrote the edited config:\n%s", got)
	}
	if got := linuxRead(t, conf+".dpkg-dist"); got != linuxRead(t, filepath.Join(linuxSrcDir(), "picket.toml"))+linuxUpgradeMark {
		t.Errorf("picket.toml.dpkg-dist is not 1.2.4's config:\n%s", got)
	}
	if linuxRead(t, spool) != "unsent results" {
		t.Error("the upgrade lost the spool")
	}
	checkModes("after the upgrade")
	run(t, "", nil, "runuser", "-u", "picket", "--", "/usr/bin/picket", "config", "check", conf)

	// Remove: program and unit go; config and spool stay.
	dpkg("-r", "picket")
	if st := dpkgStatus(t); st != "config-files" {
		t.Errorf("after dpkg -r: status %q, want config-files", st)
	}
	for _, gone := range []string{"/usr/bin/picket", "/lib/systemd/system/picket.service"} {
		if linuxExists(gone) {
			t.Errorf("%s still there after dpkg -r", gone)
		}
	}
	if linuxRead(t, conf) != edited || linuxRead(t, spool) != "unsent results" {
		t.Error("dpkg -r did not keep the config and the spool")
	}

	// Purge: config and state go; the user stays, as is usual on Debian.
	dpkg("--purge", "picket")
	if st := dpkgStatus(t); st != "" {
		t.Errorf("after dpkg --purge: status %q", st)
	}
	for _, gone := range []string{"/etc/picket", "/var/lib/picket"} {
		if linuxExists(gone) {
			t.Errorf("%s still there after dpkg --purge", gone)
		}
	}
	if _, _, err := runErr(t, "", nil, "getent", "passwd", "picket"); err != nil {
		t.Error("dpkg --purge removed user picket")
	}
}

// debScripts runs the installed maintainer scripts with dpkg's and rpm's
// arguments, in a private mount namespace whose /run is a fresh tmpfs
// (with or without /run/systemd/system, systemd's sign that it runs) and
// with a systemctl that only records its calls. The deb and the rpm carry
// the same scripts (TestDebContents, TestRPMContents).
func debScripts(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	fake := "#!/bin/sh\necho \"$*\" >>\"$PICKET_TEST_LOG\"\n" +
		"if [ \"$1\" = is-enabled ]; then [ \"$PICKET_TEST_ENABLED\" = yes ]; fi\n"
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	const marker = "/var/lib/picket/.enable-on-install"
	defer os.Remove(marker)
	start := []string{"daemon-reload", "enable picket.service", "start picket.service"}
	restart := []string{"daemon-reload", "try-restart picket.service"}
	stop := []string{"stop picket.service", "disable picket.service"}
	isEnabled := "is-enabled --quiet picket.service"
	for _, c := range []struct {
		name             string
		systemd, enabled bool
		script           string // dpkg's name
		args             []string
		markerBefore     bool
		want             []string
		markerAfter      bool
	}{
		{name: "deb preinst install", systemd: true, script: "preinst", args: []string{"install"}},
		{name: "deb preinst upgrade", systemd: true, script: "preinst", args: []string{"upgrade", "1.2.2"}},
		{name: "deb first install", systemd: true, script: "postinst", args: []string{"configure", ""}, want: start},
		{name: "deb upgrade", systemd: true, script: "postinst", args: []string{"configure", "1.2.2"}, want: restart},
		{name: "deb upgrade, old prerm", systemd: true, script: "prerm", args: []string{"upgrade", "1.2.4"}},
		{name: "deb upgrade, old postrm", systemd: true, script: "postrm", args: []string{"upgrade", "1.2.4"}},
		{name: "deb abort-upgrade", systemd: true, script: "postinst", args: []string{"abort-upgrade", "1.2.4"}},
		{name: "deb remove, enabled", systemd: true, enabled: true, script: "prerm", args: []string{"remove"}, want: append([]string{isEnabled}, stop...), markerAfter: true},
		{name: "deb reinstall after remove, was enabled", systemd: true, script: "postinst", args: []string{"configure", "1.2.3"}, markerBefore: true, want: start},
		{name: "deb remove, disabled", systemd: true, script: "prerm", args: []string{"remove"}, want: append([]string{isEnabled}, stop...)},
		{name: "deb reinstall after remove, was disabled", systemd: true, script: "postinst", args: []string{"configure", "1.2.3"}, want: restart},
		{name: "deb postrm remove", systemd: true, script: "postrm", args: []string{"remove"}, want: []string{"daemon-reload"}},
		{name: "rpm first install", systemd: true, script: "postinst", args: []string{"1"}, want: start},
		{name: "rpm upgrade", systemd: true, script: "postinst", args: []string{"2"}, want: restart},
		{name: "rpm upgrade, old preun", systemd: true, script: "prerm", args: []string{"1"}},
		{name: "rpm upgrade, old postun", systemd: true, script: "postrm", args: []string{"1"}},
		{name: "rpm erase", systemd: true, enabled: true, script: "prerm", args: []string{"0"}, want: stop},
		{name: "rpm erase, postun", systemd: true, script: "postrm", args: []string{"0"}, want: []string{"daemon-reload"}},
		{name: "no systemd: first install", script: "postinst", args: []string{"configure", ""}},
		{name: "no systemd: upgrade", script: "postinst", args: []string{"configure", "1.2.2"}},
		{name: "no systemd: remove", enabled: true, script: "prerm", args: []string{"remove"}},
		{name: "no systemd: rpm erase", script: "prerm", args: []string{"0"}},
		{name: "no systemd: postrm remove", script: "postrm", args: []string{"remove"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(log)
			os.Remove(marker)
			if c.markerBefore {
				if err := os.WriteFile(marker, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			yes := map[bool]string{true: "yes", false: "no"}
			env := []string{
				"PATH=" + bin + ":/usr/sbin:/usr/bin:/sbin:/bin",
				"PICKET_TEST_LOG=" + log, "PICKET_TEST_ENABLED=" + yes[c.enabled], "PICKET_TEST_SYSTEMD=" + yes[c.systemd],
			}
			setup := `mount -t tmpfs -o mode=0755 picket-test /run && ` +
				`if [ "$PICKET_TEST_SYSTEMD" = yes ]; then mkdir -p /run/systemd/system; fi && exec /bin/sh "$@"`
			args := append([]string{"--mount", "--propagation", "private", "/bin/sh", "-c", setup, "sh", "/var/lib/dpkg/info/picket." + c.script}, c.args...)
			stdout, stderr, err := runErr(t, "/", env, "unshare", args...)
			if err != nil {
				t.Fatalf("%s %q: %v\nstdout:\n%s\nstderr:\n%s", c.script, c.args, err, stdout, stderr)
			}
			var calls []string
			if b, err := os.ReadFile(log); err == nil {
				calls = strings.Split(strings.TrimSpace(string(b)), "\n")
			}
			if strings.Join(calls, "|") != strings.Join(c.want, "|") {
				t.Errorf("%s %q called systemctl with\n %q\nwant\n %q", c.script, c.args, calls, c.want)
			}
			if linuxExists(marker) != c.markerAfter {
				t.Errorf("%s linuxExists: %v, want %v", marker, linuxExists(marker), c.markerAfter)
			}
		})
	}
}
