//go:build unix

package main

import (
	"errors"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// permsChecked: owner and mode bits mean what they say here.
const permsChecked = true

func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func unreachable(err error) bool {
	return errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// canWrite asks the kernel whether this user may create files in dir, as
// the agent will; it writes nothing.
func canWrite(dir string) error { return unix.Access(dir, unix.W_OK|unix.X_OK) }

// freeBytes is the room on path's file system for an unprivileged user.
func freeBytes(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}

func currentUser() string { return userName(os.Geteuid()) }
