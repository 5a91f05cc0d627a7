// Package wintest is the Windows lane of `make test`: on a Linux machine it
// runs the real picket.exe, real .exe, .bat and .cmd plugins, the service
// and the MSI under Wine (Debian's wine, 64-bit only), against the real
// nsca daemon on 127.0.0.1. Its tests are Linux-only; on other systems the
// package is empty.
//
// Each `go test` run makes a private WINEPREFIX in a temp folder (wineboot
// once, shared by the tests, which run one after another), builds
// picket.exe and the helper plugin testdata/wtool for windows/amd64 and the
// Windows unit tests of plugins, sysdir and secretfile, and builds
// bcryptprimitives.dll from testdata/bcryptprimitives.c with Debian's
// mingw-w64: Go >= 1.22 needs its ProcessPrng, which Wine 8.0 lacks. No
// binary is ever committed. When the tests end, the prefix's wineserver is
// stopped with `wineserver -k` (scoped to that prefix), every process the
// tests started is killed by pid, and the temp folder is removed.
//
// What Wine cannot show is said in the tests that meet it, which then keep
// to what can be checked: Wine derives DACLs from Unix mode bits (so every
// file it makes is readable by Everyone, and picket rightly refuses such a
// secret; the tests chmod the secret on the Linux side, as a Windows DACL
// would restrict it; an MSI install with NSCA_PASSWORD therefore rolls back
// under Wine, and the MSI's other steps are proven with a server alone), it
// ignores MsiHiddenProperties, it has no Event Log, it refuses
// SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, its msiexec /x deletes
// EventLog\Application (restored by the tests) and does not always wait for
// a service to stop before removing its files (the test stops it first).
//
// A missing tool (wine, mingw-w64, nsca, wixl, msitools) fails the tests
// with the Debian package to install (scripts/test-peers.sh does);
// under -short they skip.
package wintest
