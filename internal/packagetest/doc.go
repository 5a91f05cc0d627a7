// Package packagetest holds only tests: they build what packaging/ describes
// (the deb and rpm, the MSI, the Puppet module) with the same scripts that
// `make package` runs, and check the results with the tools an operator's
// machine would use: dpkg and rpm, msiinfo, osslsigncode, puppet and
// rspec-puppet. The deb is installed, upgraded and purged for real on the
// test machine, so these tests need root.
//
// TestMain builds picket for linux/amd64 and windows/amd64 once. A missing
// tool is a test failure naming the Debian package that provides it, never a
// skip; .ci/run installs them. With -short (make unit) every test skips.
package packagetest
