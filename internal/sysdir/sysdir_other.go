//go:build !windows

package sysdir

// ProgramData is Windows' folder for machine-wide program data; other
// systems have none, and callers use their own paths there.
func ProgramData() string { return "" }
