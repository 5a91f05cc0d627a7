package packagetest

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The MSI is built by packaging/windows/build.sh, as `make package` does,
// and read back with msitools' msiinfo (each table as tab-separated text)
// and msiextract; signatures are checked with osslsigncode. Nothing here
// runs Windows Installer: what the tests pin down is the database that
// Windows Installer would run.

const (
	msiVersion  = "1.2.3+4.gabc" // as `make package` makes it between tags
	msiNumeric  = "1.2.3"
	msiEpoch    = "1700000000"
	upgradeCode = "{9D7C6FBE-5C65-4D49-AF73-98008ED5AF84}" // fixed forever: picket.wxs
	setupAction = "PicketSetup"
	setupTarget = `setup --config "[CommonAppDataFolder]picket\picket.toml" --server "[SERVER]" --nsca-password "[NSCA_PASSWORD]" --nsca-encryption "[NSCA_ENCRYPTION]" --externals-url "[EXTERNALS_URL]" --registration-url "[REGISTRATION_URL]" --registration-token "[REGISTRATION_TOKEN]" --hostname "[HOSTNAME]" --proxy "[PROXY]" --service picket`
	serviceArgs = `run --service --config "[CommonAppDataFolder]picket\picket.toml"`
	eventLogKey = `SYSTEM\CurrentControlSet\Services\EventLog\Application\picket`
)

// firstContact are the public properties an unattended install sets.
var firstContact = []string{"SERVER", "NSCA_PASSWORD", "NSCA_ENCRYPTION", "EXTERNALS_URL", "REGISTRATION_URL", "REGISTRATION_TOKEN", "HOSTNAME", "PROXY"}

// buildMSI runs build.sh into dir and returns the path it printed, after
// checking that it is exactly $OUT/picket-X.Y.Z-x64.msi.
func buildMSI(t *testing.T, dir string, env ...string) string {
	t.Helper()
	tool(t, "wixl", "wixl")
	tool(t, "msibuild", "msitools")
	env = append([]string{"BIN=" + windowsBin, "OUT=" + dir, "SIGN_CERT=", "SIGN_KEY=", "SIGN_PASS_FILE=", "SIGN_TIMESTAMP_URL="}, env...)
	out := strings.TrimSpace(run(t, t.TempDir(), env, filepath.Join(repoRoot, "packaging", "windows", "build.sh")))
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("build.sh printed %q, which is not a file: %v", out, err)
	}
	return out
}

// The MSI most tests only read, built once.
var shared struct {
	once sync.Once
	dir  string
	path string
	fail string
}

func sharedMSI(t *testing.T) string {
	t.Helper()
	needPackaging(t)
	shared.once.Do(func() {
		// Under TestMain's folder, which it removes when the tests end.
		shared.dir = filepath.Join(filepath.Dir(filepath.Dir(windowsBin)), "msi-shared")
		env := []string{"VERSION=" + msiVersion, "SOURCE_DATE_EPOCH=" + msiEpoch}
		env = append(env, "BIN="+windowsBin, "OUT="+shared.dir, "SIGN_CERT=", "SIGN_KEY=", "SIGN_PASS_FILE=", "SIGN_TIMESTAMP_URL=")
		out, errOut, err := runErr(t, repoRoot, env, filepath.Join(repoRoot, "packaging", "windows", "build.sh"))
		if err != nil {
			shared.fail = "build.sh: " + err.Error() + "\n" + out + errOut
			return
		}
		shared.path = strings.TrimSpace(out)
	})
	if shared.fail != "" {
		t.Fatal(shared.fail)
	}
	tool(t, "msiinfo", "msitools")
	return shared.path
}

// msiTable is one table as msiinfo exports it: the column names, their
// types, the table name with its key columns, then one row per line, fields
// separated by tabs, lines ended by CR LF.
type msiTable struct {
	columns []string
	rows    []map[string]string
}

func readTable(t *testing.T, msi, name string) msiTable {
	t.Helper()
	out := run(t, "", nil, "msiinfo", "export", msi, name)
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(out, "\r\n", "\n"), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("msiinfo export %s: want a header of 3 lines, got:\n%s", name, out)
	}
	if head := strings.Split(lines[2], "\t"); head[0] != name {
		t.Fatalf("msiinfo export %s: third line names table %q", name, head[0])
	}
	tbl := msiTable{columns: strings.Split(lines[0], "\t")}
	for _, l := range lines[3:] {
		f := strings.Split(l, "\t")
		if len(f) != len(tbl.columns) {
			t.Fatalf("msiinfo export %s: row %q has %d fields for %d columns", name, l, len(f), len(tbl.columns))
		}
		row := map[string]string{}
		for i, c := range tbl.columns {
			row[c] = f[i]
		}
		tbl.rows = append(tbl.rows, row)
	}
	return tbl
}

// where returns the rows whose column col equals v.
func (tb msiTable) where(col, v string) []map[string]string {
	var out []map[string]string
	for _, r := range tb.rows {
		if r[col] == v {
			out = append(out, r)
		}
	}
	return out
}

// one returns the only row whose column col equals v.
func (tb msiTable) one(t *testing.T, col, v string) map[string]string {
	t.Helper()
	rs := tb.where(col, v)
	if len(rs) != 1 {
		t.Fatalf("want one row with %s=%q, got %d: %v", col, v, len(rs), tb.rows)
	}
	return rs[0]
}

func atoi(t *testing.T, what, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %q is not a number", what, s)
	}
	return n
}

func properties(t *testing.T, msi string) map[string]string {
	t.Helper()
	p := map[string]string{}
	for _, r := range readTable(t, msi, "Property").rows {
		p[r["Property"]] = r["Value"]
	}
	return p
}

func listHas(list, item string) bool {
	for _, s := range strings.Split(list, ";") {
		if s == item {
			return true
		}
	}
	return false
}

// exeFile is picket.exe's row in the File table.
func exeFile(t *testing.T, msi string) map[string]string {
	t.Helper()
	return readTable(t, msi, "File").one(t, "FileName", "picket.exe")
}

func TestMSIServiceInstall(t *testing.T) {
	msi := sharedMSI(t)
	svc := readTable(t, msi, "ServiceInstall")
	if len(svc.rows) != 1 {
		t.Fatalf("want one service, got %v", svc.rows)
	}
	r := svc.one(t, "Name", "picket")
	want := map[string]string{
		"DisplayName":  "picket monitoring agent",
		"ServiceType":  "16", // SERVICE_WIN32_OWN_PROCESS, not interactive
		"StartType":    "2",  // SERVICE_AUTO_START
		"ErrorControl": "1",  // SERVICE_ERROR_NORMAL
		"StartName":    "LocalSystem",
		"Password":     "",
		"Arguments":    serviceArgs,
		"Component_":   exeFile(t, msi)["Component_"], // installed with picket.exe
	}
	for col, v := range want {
		if r[col] != v {
			t.Errorf("ServiceInstall.%s = %q, want %q", col, r[col], v)
		}
	}
	if r["Description"] == "" {
		t.Error("the service has no description")
	}
}

func TestMSIServiceControl(t *testing.T) {
	msi := sharedMSI(t)
	r := readTable(t, msi, "ServiceControl").one(t, "Name", "picket")
	const (
		installStart   = 0x01
		installStop    = 0x02
		installDelete  = 0x08
		uninstallStart = 0x10
		uninstallStop  = 0x20
		uninstallDel   = 0x80
	)
	ev := atoi(t, "ServiceControl.Event", r["Event"])
	if want := installStart | installStop | uninstallStop | uninstallDel; ev != want {
		t.Errorf("ServiceControl.Event = %#x, want %#x (start on install, stop on install and uninstall, delete on uninstall)", ev, want)
	}
	if r["Wait"] != "1" {
		t.Errorf("ServiceControl.Wait = %q, want 1", r["Wait"])
	}
	if r["Component_"] != exeFile(t, msi)["Component_"] {
		t.Errorf("ServiceControl belongs to component %q, not picket.exe's", r["Component_"])
	}
}

func TestMSISetupCustomAction(t *testing.T) {
	msi := sharedMSI(t)
	r := readTable(t, msi, "CustomAction").one(t, "Action", setupAction)
	typ := atoi(t, "CustomAction.Type", r["Type"])
	const (
		exeFromFile  = 0x12 // type 18: Source is a File key, Target its command line
		continueOnEr = 0x40 // Return="ignore"
		async        = 0x80
		rollback     = 0x100
		commit       = 0x200
		inScript     = 0x400 // deferred
		noImperson   = 0x800 // runs as SYSTEM
		hideTarget   = 0x2000
	)
	if typ&0x3f != exeFromFile {
		t.Errorf("CustomAction.Type = %#x: base type %#x, want %#x (exe from an installed file)", typ, typ&0x3f, exeFromFile)
	}
	for _, b := range []struct {
		bit  int
		want bool
		name string
	}{
		{inScript, true, "deferred"}, {noImperson, true, "no impersonation"}, {hideTarget, true, "hide target"},
		{continueOnEr, false, "ignore return"}, {async, false, "asynchronous"},
		{rollback, false, "rollback"}, {commit, false, "commit"},
	} {
		if (typ&b.bit != 0) != b.want {
			t.Errorf("CustomAction.Type = %#x: %s bit (%#x) set = %v, want %v", typ, b.name, b.bit, !b.want, b.want)
		}
	}
	if want := exeFile(t, msi)["File"]; r["Source"] != want {
		t.Errorf("CustomAction.Source = %q, want picket.exe's File key %q", r["Source"], want)
	}
	if r["Target"] != setupTarget {
		t.Errorf("CustomAction.Target =\n%s\nwant\n%s", r["Target"], setupTarget)
	}
	for _, p := range firstContact {
		if !strings.Contains(r["Target"], `"[`+p+`]"`) {
			t.Errorf("CustomAction.Target does not pass [%s]", p)
		}
	}
	seq := readTable(t, msi, "InstallExecuteSequence").one(t, "Action", setupAction)
	if seq["Condition"] != `NOT REMOVE~="ALL"` {
		t.Errorf("setup runs on condition %q, want it on install, upgrade and repair only", seq["Condition"])
	}
}

func TestMSIInstallExecuteSequence(t *testing.T) {
	msi := sharedMSI(t)
	seq := map[string]int{}
	used := map[int]string{}
	for _, r := range readTable(t, msi, "InstallExecuteSequence").rows {
		n := atoi(t, "sequence of "+r["Action"], r["Sequence"])
		if n <= 0 {
			t.Errorf("action %s has sequence %d", r["Action"], n)
		}
		if other, dup := used[n]; dup {
			t.Errorf("actions %s and %s share sequence %d", other, r["Action"], n)
		}
		used[n] = r["Action"]
		seq[r["Action"]] = n
	}
	for _, a := range []string{
		"FindRelatedProducts", "LaunchConditions", "CostInitialize", "FileCost", "CostFinalize",
		"MigrateFeatureStates", "InstallValidate", "RemoveExistingProducts", "InstallInitialize",
		"ProcessComponents", "StopServices", "DeleteServices", "RemoveRegistryValues", "RemoveFiles",
		"RemoveFolders", "CreateFolders", "InstallFiles", "WriteRegistryValues", "InstallServices",
		setupAction, "StartServices", "RegisterProduct", "PublishFeatures", "PublishProduct", "InstallFinalize",
	} {
		if _, ok := seq[a]; !ok {
			t.Errorf("InstallExecuteSequence has no %s", a)
		}
	}
	for _, order := range [][]string{
		{"InstallFiles", "InstallServices", setupAction, "StartServices"},
		{"FindRelatedProducts", "LaunchConditions", "InstallValidate", "RemoveExistingProducts", "InstallInitialize"},
		{"InstallInitialize", "StopServices", "DeleteServices", "RemoveFiles", "InstallFiles", "InstallFinalize"},
		{"RemoveRegistryValues", "WriteRegistryValues"},
		{"CreateFolders", "InstallFiles"},
	} {
		for i := 1; i < len(order); i++ {
			a, b := order[i-1], order[i]
			if seq[a] >= seq[b] {
				t.Errorf("%s (%d) must come before %s (%d)", a, seq[a], b, seq[b])
			}
		}
	}
	// wixl orders Before/After through a hash table; the source must use
	// explicit numbers only.
	wxs, err := os.ReadFile(filepath.Join(repoRoot, "packaging", "windows", "picket.wxs"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`\s(Before|After)="`).Find(wxs); m != nil {
		t.Errorf("picket.wxs schedules with %s: give the action a Sequence number", m)
	}
}

func TestMSIProperties(t *testing.T) {
	msi := sharedMSI(t)
	p := properties(t, msi)
	for k, v := range map[string]string{
		"ProductName":     "picket",
		"ProductVersion":  msiNumeric,
		"Manufacturer":    "picket maintainers",
		"UpgradeCode":     upgradeCode,
		"ALLUSERS":        "1",
		"ARPURLINFOABOUT": "https://github.com/picket-monitoring/picket",
	} {
		if p[k] != v {
			t.Errorf("property %s = %q, want %q", k, p[k], v)
		}
	}
	for _, s := range []string{"NSCA_PASSWORD", "REGISTRATION_TOKEN", setupAction} {
		if !listHas(p["MsiHiddenProperties"], s) {
			t.Errorf("MsiHiddenProperties = %q: %s would be logged", p["MsiHiddenProperties"], s)
		}
	}
	for _, s := range append([]string{"NEWERFOUND", "OLDERFOUND"}, firstContact...) {
		if !listHas(p["SecureCustomProperties"], s) {
			t.Errorf("SecureCustomProperties = %q lacks %s", p["SecureCustomProperties"], s)
		}
	}
	// No first-contact default is baked into the package: an empty one is
	// what tells picket setup to keep the existing config.
	for _, s := range firstContact {
		if v, ok := p[s]; ok {
			t.Errorf("property %s has a default %q in the package", s, v)
		}
	}
	if !regexp.MustCompile(`^\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}$`).MatchString(p["ProductCode"]) {
		t.Errorf("ProductCode %q is not an upper-case GUID in braces", p["ProductCode"])
	}
}

func TestMSIUpgrade(t *testing.T) {
	msi := sharedMSI(t)
	up := readTable(t, msi, "Upgrade")
	if len(up.rows) != 2 {
		t.Fatalf("want 2 Upgrade rows, got %v", up.rows)
	}
	const (
		migrate      = 0x1
		onlyDetect   = 0x2
		minInclusive = 0x100
		maxInclusive = 0x200
	)
	newer := up.one(t, "ActionProperty", "NEWERFOUND")
	if a := atoi(t, "NEWERFOUND attributes", newer["Attributes"]); newer["VersionMin"] != msiNumeric || newer["VersionMax"] != "" ||
		a&onlyDetect == 0 || a&minInclusive != 0 {
		t.Errorf("NEWERFOUND row %v: want only-detect, versions above %s (exclusive)", newer, msiNumeric)
	}
	older := up.one(t, "ActionProperty", "OLDERFOUND")
	if a := atoi(t, "OLDERFOUND attributes", older["Attributes"]); older["VersionMax"] != msiNumeric ||
		a&onlyDetect != 0 || a&maxInclusive == 0 || a&migrate == 0 ||
		(older["VersionMin"] != "" && (older["VersionMin"] != "0.0.0" || a&minInclusive == 0)) {
		t.Errorf("OLDERFOUND row %v: want every version up to and including %s removed", older, msiNumeric)
	}
	for _, r := range up.rows {
		if r["UpgradeCode"] != upgradeCode {
			t.Errorf("Upgrade row for UpgradeCode %s, want %s", r["UpgradeCode"], upgradeCode)
		}
	}
	if len(readTable(t, msi, "LaunchCondition").where("Condition", "NOT NEWERFOUND")) != 1 {
		t.Error("no launch condition refuses a downgrade")
	}
}

func TestMSIRegistry(t *testing.T) {
	msi := sharedMSI(t)
	reg := readTable(t, msi, "Registry")
	want := map[string]string{
		"EventMessageFile": `#%%SystemRoot%\System32\EventCreate.exe`, // "#%": REG_EXPAND_SZ
		"TypesSupported":   "#7",                                      // "#": REG_DWORD
	}
	if len(reg.rows) != len(want) {
		t.Errorf("want %d registry values, got %v", len(want), reg.rows)
	}
	comps := readTable(t, msi, "Component")
	for name, v := range want {
		r := reg.one(t, "Name", name)
		if r["Root"] != "2" || r["Key"] != eventLogKey || r["Value"] != v {
			t.Errorf("registry %s: %v, want HKLM (2) %s = %s", name, r, eventLogKey, v)
		}
		c := comps.one(t, "Component", r["Component_"])
		// Not permanent (0x10): Windows Installer removes the values on
		// uninstall. 64-bit (0x100).
		if a := atoi(t, "component attributes", c["Attributes"]); a&0x10 != 0 || a&0x100 == 0 {
			t.Errorf("component %s attributes %#x: want 64-bit and not permanent", c["Component"], a)
		}
		if c["ComponentId"] == "" {
			t.Errorf("component %s has no GUID, so it would never be uninstalled", c["Component"])
		}
	}
}

func TestMSIFilesAndFolders(t *testing.T) {
	msi := sharedMSI(t)
	files := readTable(t, msi, "File")
	if len(files.rows) != 1 {
		t.Errorf("the MSI should own picket.exe only, got %v", files.rows)
	}
	f := exeFile(t, msi)
	dirs := readTable(t, msi, "Directory")
	comps := readTable(t, msi, "Component")
	c := comps.one(t, "Component", f["Component_"])
	if c["KeyPath"] != f["File"] {
		t.Errorf("picket.exe is not its component's key path: %v", c)
	}
	if a := atoi(t, "component attributes", c["Attributes"]); a&0x100 == 0 {
		t.Errorf("picket.exe's component is not 64-bit: %#x", a)
	}
	d := dirs.one(t, "Directory", c["Directory_"])
	if d["DefaultDir"] != "picket" || d["Directory_Parent"] != "ProgramFiles64Folder" {
		t.Errorf("picket.exe goes to %v, want ProgramFiles64Folder\\picket", d)
	}
	// ProgramData\picket and its plugins folder are created; nothing in
	// them is the MSI's, so uninstall and upgrade never delete their files.
	data := dirs.where("Directory_Parent", "CommonAppDataFolder")
	if len(data) != 1 || data[0]["DefaultDir"] != "picket" {
		t.Fatalf("want one folder picket under CommonAppDataFolder, got %v", data)
	}
	plugins := dirs.where("Directory_Parent", data[0]["Directory"])
	if len(plugins) != 1 || plugins[0]["DefaultDir"] != "plugins" {
		t.Fatalf("want ProgramData\\picket\\plugins, got %v", plugins)
	}
	created := readTable(t, msi, "CreateFolder")
	for _, dir := range []string{data[0]["Directory"], plugins[0]["Directory"]} {
		if len(created.where("Directory_", dir)) != 1 {
			t.Errorf("folder %s is not created", dir)
		}
		for _, c := range comps.where("Directory_", dir) {
			if c["KeyPath"] != "" {
				t.Errorf("component %s in ProgramData has a key path %s: the folder must be its only content", c["Component"], c["KeyPath"])
			}
		}
	}
	if rf := readTable(t, msi, "RemoveFile"); len(rf.rows) != 0 {
		t.Errorf("RemoveFile rows would delete files: %v", rf.rows)
	}
	// Every component is in the feature, with a fixed GUID.
	fc := readTable(t, msi, "FeatureComponents")
	for _, c := range comps.rows {
		if len(fc.where("Component_", c["Component"])) == 0 {
			t.Errorf("component %s is in no feature", c["Component"])
		}
	}
	// msiextract unpacks what the cabinet holds: picket.exe, unchanged.
	tool(t, "msiextract", "msitools")
	dir := t.TempDir()
	run(t, "", nil, "msiextract", "-C", dir, msi)
	got := findFile(t, dir, "picket.exe")
	if !sameFile(t, got, windowsBin) {
		t.Error("the picket.exe inside the MSI differs from BIN")
	}
}

func findFile(t *testing.T, root, name string) string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name {
			found = append(found, p)
		}
		return err
	})
	if err != nil || len(found) != 1 {
		t.Fatalf("want one %s under %s, got %v (%v)", name, root, found, err)
	}
	return found[0]
}

func fileHash(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	return fileHash(t, a) == fileHash(t, b)
}

func TestMSIVersion(t *testing.T) {
	msi := sharedMSI(t)
	if got, want := filepath.Base(msi), "picket-"+msiNumeric+"-x64.msi"; got != want {
		t.Errorf("build.sh wrote %s, want %s", got, want)
	}
	if v := properties(t, msi)["ProductVersion"]; v != msiNumeric {
		t.Errorf("VERSION=%s: ProductVersion %q, want %s", msiVersion, v, msiNumeric)
	}
	base := properties(t, msi)
	baseComps := readTable(t, msi, "Component")
	for _, tc := range []struct{ version, numeric string }{
		{"2.0.1", "2.0.1"},
		{"v0.9.12-rc1", "0.9.12"},
		{"3.4", "3.4.0"},
		{"dev", "0.0.0"},
	} {
		out := buildMSI(t, t.TempDir(), "VERSION="+tc.version, "SOURCE_DATE_EPOCH="+msiEpoch)
		if got, want := filepath.Base(out), "picket-"+tc.numeric+"-x64.msi"; got != want {
			t.Errorf("VERSION=%s: wrote %s, want %s", tc.version, got, want)
		}
		p := properties(t, out)
		if p["ProductVersion"] != tc.numeric {
			t.Errorf("VERSION=%s: ProductVersion %q, want %s", tc.version, p["ProductVersion"], tc.numeric)
		}
		// Another version is another product of the same family, made of
		// the same components.
		if p["UpgradeCode"] != base["UpgradeCode"] || p["ProductCode"] == base["ProductCode"] {
			t.Errorf("VERSION=%s: UpgradeCode %s ProductCode %s, against %s %s", tc.version,
				p["UpgradeCode"], p["ProductCode"], base["UpgradeCode"], base["ProductCode"])
		}
		for _, c := range readTable(t, out, "Component").rows {
			if b := baseComps.one(t, "Component", c["Component"]); b["ComponentId"] != c["ComponentId"] {
				t.Errorf("VERSION=%s: component %s has GUID %s, was %s", tc.version, c["Component"], c["ComponentId"], b["ComponentId"])
			}
		}
		if up := readTable(t, out, "Upgrade").one(t, "ActionProperty", "OLDERFOUND"); up["VersionMax"] != tc.numeric {
			t.Errorf("VERSION=%s: upgrades versions up to %s", tc.version, up["VersionMax"])
		}
	}
	// Past what an MSI ProductVersion can hold: a clear failure, no file.
	dir := t.TempDir()
	_, errOut, err := runErr(t, "", []string{"VERSION=256.0.0", "BIN=" + windowsBin, "OUT=" + dir},
		filepath.Join(repoRoot, "packaging", "windows", "build.sh"))
	if err == nil || !strings.Contains(errOut, "255") {
		t.Errorf("VERSION=256.0.0: err %v, stderr %q; want a failure naming the limit", err, errOut)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("VERSION=256.0.0 left %d files in OUT", len(ents))
	}
}

func TestMSIBuildNeedsItsEnvironment(t *testing.T) {
	needPackaging(t)
	script := filepath.Join(repoRoot, "packaging", "windows", "build.sh")
	full := map[string]string{"VERSION": "1.0.0", "BIN": windowsBin, "OUT": t.TempDir()}
	for _, missing := range []string{"VERSION", "BIN", "OUT"} {
		env := []string{"SIGN_CERT=", "SIGN_KEY="}
		for k, v := range full {
			if k == missing {
				v = ""
			}
			env = append(env, k+"="+v)
		}
		_, errOut, err := runErr(t, "", env, script)
		if err == nil || !strings.Contains(errOut, missing) {
			t.Errorf("without %s: err %v, stderr %q; want a failure naming it", missing, err, errOut)
		}
	}
	env := []string{"VERSION=1.0.0", "BIN=" + windowsBin, "OUT=" + t.TempDir(), "SIGN_CERT=" + windowsBin, "SIGN_KEY="}
	if _, errOut, err := runErr(t, "", env, script); err == nil || !strings.Contains(errOut, "SIGN_KEY") {
		t.Errorf("SIGN_CERT without SIGN_KEY: err %v, stderr %q; want a failure naming SIGN_KEY", err, errOut)
	}
}

// signingCert makes a throwaway self-signed code-signing certificate.
func signingCert(t *testing.T) (cert, key string) {
	t.Helper()
	tool(t, "openssl", "openssl")
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	run(t, dir, nil, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
		"-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=picket packagetest",
		"-addext", "keyUsage=critical,digitalSignature",
		"-addext", "extendedKeyUsage=codeSigning")
	return cert, key
}

func TestMSISigning(t *testing.T) {
	msi := sharedMSI(t)
	tool(t, "osslsigncode", "osslsigncode")
	tool(t, "msiextract", "msitools")
	cert, key := signingCert(t)
	verify := func(p string) error {
		_, _, err := runErr(t, "", nil, "osslsigncode", "verify", "-CAfile", cert, "-in", p)
		return err
	}
	extracted := func(p string) string {
		dir := t.TempDir()
		run(t, "", nil, "msiextract", "-C", dir, p)
		return findFile(t, dir, "picket.exe")
	}

	before := fileHash(t, windowsBin)
	signed := buildMSI(t, t.TempDir(), "VERSION="+msiVersion, "SOURCE_DATE_EPOCH="+msiEpoch,
		"SIGN_CERT="+cert, "SIGN_KEY="+key)
	if fileHash(t, windowsBin) != before {
		t.Error("build.sh changed BIN: it must sign a copy")
	}
	if out, errOut, err := runErr(t, "", nil, "osslsigncode", "verify", "-CAfile", cert, "-in", signed); err != nil {
		t.Errorf("signed MSI does not verify: %v\n%s%s", err, out, errOut)
	} else if !regexp.MustCompile(`Message digest algorithm\s*:\s*SHA256`).MatchString(out) {
		t.Errorf("signed MSI's digest is not SHA-256:\n%s", out)
	}
	if err := verify(extracted(signed)); err != nil {
		t.Errorf("picket.exe inside the signed MSI does not verify: %v", err)
	}
	// The signed exe is what the File table describes (size and hash), so
	// Windows Installer installs it as is.
	if got, want := exeFile(t, signed)["FileSize"], strconv.Itoa(int(fileSize(t, extracted(signed)))); got != want {
		t.Errorf("File.FileSize %s, but the shipped picket.exe has %s bytes", got, want)
	}

	// A key under a passphrase, read from SIGN_PASS_FILE.
	dir := t.TempDir()
	pass, encKey := filepath.Join(dir, "pass"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(pass, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, dir, nil, "openssl", "pkey", "-in", key, "-aes256", "-passout", "file:"+pass, "-out", encKey)
	withPass := buildMSI(t, t.TempDir(), "VERSION="+msiVersion, "SIGN_CERT="+cert, "SIGN_KEY="+encKey, "SIGN_PASS_FILE="+pass)
	if err := verify(withPass); err != nil {
		t.Errorf("MSI signed with a passphrase-protected key does not verify: %v", err)
	}

	// Without SIGN_*: neither is signed.
	if verify(msi) == nil {
		t.Error("the MSI built without SIGN_CERT verifies as signed")
	}
	if verify(extracted(msi)) == nil {
		t.Error("picket.exe in the MSI built without SIGN_CERT verifies as signed")
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// wixl alone writes a random PackageCode, the current time and picket.exe's
// mtime into the MSI; build.sh derives the first from the inputs and sets the
// others to SOURCE_DATE_EPOCH, so the same inputs give the same bytes, signed
// (without a timestamp server) or not.
func TestMSIReproducible(t *testing.T) {
	msi := sharedMSI(t)
	again := buildMSI(t, t.TempDir(), "VERSION="+msiVersion, "SOURCE_DATE_EPOCH="+msiEpoch)
	a, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("two builds of the same inputs differ (%d and %d bytes); msidiff:\n%s", len(a), len(b),
			msidiff(t, msi, again))
	}
	info := run(t, "", nil, "msiinfo", "suminfo", msi)
	if !strings.Contains(info, "2023") {
		t.Errorf("summary information does not carry SOURCE_DATE_EPOCH (2023-11-14):\n%s", info)
	}

	// Other inputs, other package: a new PackageCode and ProductCode.
	other := buildMSI(t, t.TempDir(), "VERSION="+msiVersion, "SOURCE_DATE_EPOCH=1700000001")
	if bytes.Equal(a, mustRead(t, other)) {
		t.Error("another SOURCE_DATE_EPOCH gave the same bytes")
	}
	if properties(t, other)["ProductCode"] == properties(t, msi)["ProductCode"] {
		t.Error("another build input kept the ProductCode")
	}
	if packageCode(t, other) == packageCode(t, msi) {
		t.Error("another build input kept the PackageCode")
	}

	cert, key := signingCert(t)
	tool(t, "osslsigncode", "osslsigncode")
	s1 := buildMSI(t, t.TempDir(), "VERSION="+msiVersion, "SOURCE_DATE_EPOCH="+msiEpoch, "SIGN_CERT="+cert, "SIGN_KEY="+key)
	s2 := buildMSI(t, t.TempDir(), "VERSION="+msiVersion, "SOURCE_DATE_EPOCH="+msiEpoch, "SIGN_CERT="+cert, "SIGN_KEY="+key)
	if !bytes.Equal(mustRead(t, s1), mustRead(t, s2)) {
		t.Error("two signed builds of the same inputs differ")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func packageCode(t *testing.T, msi string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Revision number \(UUID\): (\S+)`).FindStringSubmatch(run(t, "", nil, "msiinfo", "suminfo", msi))
	if m == nil {
		t.Fatalf("%s: no PackageCode in msiinfo suminfo", msi)
	}
	return m[1]
}

func msidiff(t *testing.T, a, b string) string {
	t.Helper()
	out, errOut, _ := runErr(t, "", nil, "msidiff", a, b)
	return out + errOut
}

// The command line the MSI runs is one picket setup understands: the
// custom action's target, formatted the way Windows Installer formats it
// and split the way Windows splits a command line, runs picket setup (the
// Linux build, with the Windows folder mapped to a temporary one) and
// writes the config the properties describe; a second run, an upgrade,
// keeps it.
func TestMSISetupCommandIsPicketSetup(t *testing.T) {
	needPackaging(t)
	msi := sharedMSI(t)
	target := readTable(t, msi, "CustomAction").one(t, "Action", setupAction)["Target"]
	dir := t.TempDir()
	props := map[string]string{
		"CommonAppDataFolder": dir + `\`,
		"SERVER":              "nagios1.example.com,nagios2.example.com:5668",
		"NSCA_PASSWORD":       "s3cret with spaces",
		"NSCA_ENCRYPTION":     "aes256",
		"EXTERNALS_URL":       "https://nagios1.example.com/picket/externals/",
		"REGISTRATION_URL":    "https://nagios1.example.com/picket/register",
		"REGISTRATION_TOKEN":  "tok-1",
		"PROXY":               "http://proxy.example.com:3128",
		// HOSTNAME unset: Windows Installer formats it as "".
	}
	formatted := regexp.MustCompile(`\[([A-Za-z_]+)\]`).ReplaceAllStringFunc(target, func(m string) string {
		return props[m[1:len(m)-1]]
	})
	args := splitWindowsCommandLine(strings.ReplaceAll(formatted, `\`, "/"))
	// --service is Windows-only and a no-op here; it must still parse.
	run(t, dir, nil, linuxBin, args...)
	cfg := filepath.Join(dir, "picket", "picket.toml")
	out := run(t, dir, nil, linuxBin, "config", "check", cfg)
	for _, want := range []string{
		`address = "nagios1.example.com:5667"`, `address = "nagios2.example.com:5668"`,
		`encryption = "aes256"`, `url = "https://nagios1.example.com/picket/externals/"`,
		`token_file = "` + filepath.Join(dir, "picket", "register.token") + `"`, `proxy = "http://proxy.example.com:3128"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config lacks %s:\n%s", want, out)
		}
	}
	if pw, _ := os.ReadFile(filepath.Join(dir, "picket", "nsca.secret")); string(pw) != "s3cret with spaces\n" {
		t.Errorf("nsca.secret = %q", pw)
	}
	if again := run(t, dir, nil, linuxBin, args...); !strings.Contains(again, "kept") {
		t.Errorf("a second run (an upgrade) did not keep the config: %s", again)
	}
}

// splitWindowsCommandLine splits as Windows does for arguments without
// backslash-quote sequences (the target has none once formatted): spaces
// separate, double quotes group.
func splitWindowsCommandLine(s string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}
