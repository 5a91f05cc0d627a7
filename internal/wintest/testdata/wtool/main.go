// Command wtool plays the Windows plugins and helpers of internal/wintest:
// built for windows/amd64 and run under Wine by the tests, never shipped.
//
//	wtool plugin [-exit N] [-enc utf8|oem850|ansi1252|utf16le|utf16bom] [-count FILE] TEXT [ARG...]
//	    prints TEXT (\n starts a line; {n} is the run number kept in FILE,
//	    {args} the ARGs, each in <>) in the encoding, and exits N
//	wtool tree PIDFILE   starts a child (wtool hang), writes both pids, hangs
//	wtool hang           sleeps for an hour
//	wtool alive PID...   prints "alive PID" or "gone PID" for each
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/sys/windows"
	"golang.org/x/text/encoding/charmap"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wtool plugin|tree|hang|alive ...")
		os.Exit(3)
	}
	switch os.Args[1] {
	case "plugin":
		plugin(os.Args[2:])
	case "tree":
		tree(os.Args[2])
	case "hang":
		time.Sleep(time.Hour)
	case "alive":
		alive(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "wtool: unknown command", os.Args[1])
		os.Exit(3)
	}
}

func plugin(args []string) {
	fs := flag.NewFlagSet("plugin", flag.ExitOnError)
	code := fs.Int("exit", 0, "exit code")
	enc := fs.String("enc", "utf8", "output encoding")
	count := fs.String("count", "", "file holding the run number")
	fs.Parse(args)
	text := strings.ReplaceAll(fs.Arg(0), `\n`, "\n")
	var words []string
	for _, a := range fs.Args()[1:] {
		words = append(words, "<"+a+">")
	}
	text = strings.ReplaceAll(text, "{args}", strings.Join(words, " "))
	if *count != "" {
		n := 0
		if b, err := os.ReadFile(*count); err == nil {
			n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		n++
		if err := os.WriteFile(*count, []byte(strconv.Itoa(n)), 0o644); err != nil {
			fmt.Println("UNKNOWN - count:", err)
			os.Exit(3)
		}
		text = strings.ReplaceAll(text, "{n}", strconv.Itoa(n))
	}
	text += "\r\n"
	var out []byte
	switch *enc {
	case "utf8":
		out = []byte(text)
	case "oem850", "ansi1252":
		cm := charmap.CodePage850
		if *enc == "ansi1252" {
			cm = charmap.Windows1252
		}
		b, err := cm.NewEncoder().Bytes([]byte(text))
		if err != nil {
			fmt.Println("UNKNOWN - encode:", err)
			os.Exit(3)
		}
		out = b
	case "utf16le", "utf16bom":
		units := utf16.Encode([]rune(text))
		if *enc == "utf16bom" {
			units = append([]uint16{0xFEFF}, units...)
		}
		for _, u := range units {
			out = append(out, byte(u), byte(u>>8))
		}
	default:
		fmt.Println("UNKNOWN - encoding", *enc)
		os.Exit(3)
	}
	os.Stdout.Write(out)
	os.Exit(*code)
}

// tree starts a grandchild of the plugin's caller and hangs, so a timeout
// must kill a tree: cmd.exe, this process and its child.
func tree(pidFile string) {
	child := exec.Command(os.Args[0], "hang")
	if err := child.Start(); err != nil {
		fmt.Println("UNKNOWN - start child:", err)
		os.Exit(3)
	}
	pids := fmt.Sprintf("%d %d", os.Getpid(), child.Process.Pid)
	if err := os.WriteFile(pidFile, []byte(pids), 0o644); err != nil {
		fmt.Println("UNKNOWN - pid file:", err)
		os.Exit(3)
	}
	fmt.Println("started", pids)
	time.Sleep(time.Hour)
}

func alive(pids []string) {
	for _, s := range pids {
		pid, err := strconv.Atoi(s)
		if err != nil {
			fmt.Println("bad", s)
			continue
		}
		h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
		if err != nil {
			fmt.Println("gone", pid)
			continue
		}
		var code uint32
		err = windows.GetExitCodeProcess(h, &code)
		windows.CloseHandle(h)
		if err == nil && code == 259 { // STILL_ACTIVE
			fmt.Println("alive", pid)
		} else {
			fmt.Println("gone", pid)
		}
	}
}
