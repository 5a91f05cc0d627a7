// Package sysdir names the platform's system-wide folders, asked of the
// operating system rather than read from environment variables, so the
// service, the MSI and `picket setup` agree on one folder whatever
// environment each of them was started with. It owns nothing on disk and
// never blocks.
package sysdir
