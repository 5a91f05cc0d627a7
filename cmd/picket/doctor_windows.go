//go:build windows

package main

import (
	"errors"
	"io/fs"
	"os/user"
	"syscall"

	"golang.org/x/sys/windows"
)

// permsChecked: Windows keeps access in ACLs, which doctor does not read.
const permsChecked = false

func refused(err error) bool {
	return errors.Is(err, windows.WSAECONNREFUSED) || errors.Is(err, syscall.ECONNREFUSED)
}

func unreachable(err error) bool {
	return errors.Is(err, windows.WSAEHOSTUNREACH) || errors.Is(err, windows.WSAENETUNREACH)
}

func fileOwner(fs.FileInfo) (int, bool) { return 0, false }

func canWrite(string) error { return nil }

func freeBytes(path string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	var free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, nil, nil); err != nil {
		return 0, err
	}
	return free, nil
}

func userName(int) string { return currentUser() }

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "this user"
}
