package nagios

import (
	"strconv"
	"strings"
	"time"
)

// CheckResult is one passive check result. An empty Service makes it a host
// check result.
type CheckResult struct {
	Time       time.Time
	Host       string
	Service    string
	ReturnCode int
	Output     string
}

// AppendTo appends r as one command line; see AppendCheckResult.
func (r CheckResult) AppendTo(dst []byte) []byte {
	return AppendCheckResult(dst, r.Time, r.Host, r.Service, r.ReturnCode, r.Output)
}

// AppendCheckResult appends one newline-terminated external command for a
// passive check result, exactly as the nsca 2.10 daemon writes it:
//
//	[<unix seconds>] PROCESS_SERVICE_CHECK_RESULT;<host>;<service>;<rc>;<output>\n
//	[<unix seconds>] PROCESS_HOST_CHECK_RESULT;<host>;<rc>;<output>\n
//
// Host and service are cut at their first newline (nsca's truncate_newlines);
// the host form is used when the service is empty after that cut, as nsca
// decides after cutting too. In output, `\` becomes `\\` and a newline the two
// characters `\n` (nsca's escape_newlines), which Nagios turns back into long
// output; a carriage return is kept as is, like nsca does. Semicolons are not
// escaped: Nagios has no escape for them, and it takes everything after the
// last field separator it expects as the output.
//
// Nothing is cut for length: the limits of the NSCA packet apply before a
// result gets here. The time is written as t.Unix(); nsca writes its own
// receive time, and so should the caller.
//
// It does not allocate when dst has room for the line.
func AppendCheckResult(dst []byte, t time.Time, host, service string, rc int, output string) []byte {
	host = cutNewline(host)
	service = cutNewline(service)
	dst = appendTimestamp(dst, t)
	if service == "" {
		dst = append(dst, "PROCESS_HOST_CHECK_RESULT;"...)
		dst = append(dst, host...)
	} else {
		dst = append(dst, "PROCESS_SERVICE_CHECK_RESULT;"...)
		dst = append(dst, host...)
		dst = append(dst, ';')
		dst = append(dst, service...)
	}
	dst = append(dst, ';')
	dst = strconv.AppendInt(dst, int64(rc), 10)
	dst = append(dst, ';')
	dst = appendEscaped(dst, output)
	return append(dst, '\n')
}

// AppendCommand appends one newline-terminated external command:
//
//	[<unix seconds>] NAME;arg1;arg2\n
//
// or `[<unix seconds>] NAME\n` without arguments. Newlines in name and
// arguments are stripped by replacing each with a space, so that the
// command always stays on its line and cannot smuggle a second command into
// the pipe; the alternative, rejecting them, would need an error on a path
// where every caller formats trusted or already-validated values. Arguments
// are not escaped otherwise: Nagios has no escape for `;`, so only the last
// argument (a comment, a plugin output) may contain one. For check results use
// AppendCheckResult, which escapes output the way Nagios expects.
func AppendCommand(dst []byte, t time.Time, name string, args ...string) []byte {
	dst = appendTimestamp(dst, t)
	dst = appendNoNewline(dst, name)
	for _, a := range args {
		dst = append(dst, ';')
		dst = appendNoNewline(dst, a)
	}
	return append(dst, '\n')
}

func appendTimestamp(dst []byte, t time.Time) []byte {
	dst = append(dst, '[')
	dst = strconv.AppendInt(dst, t.Unix(), 10)
	return append(dst, "] "...)
}

// cutNewline keeps what precedes the first newline, as nsca's
// truncate_newlines does for host and service names.
func cutNewline(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// appendEscaped is nsca's escape_newlines. Most outputs contain neither byte,
// so two vectorised scans and one copy beat a byte loop.
func appendEscaped(dst []byte, s string) []byte {
	if strings.IndexByte(s, '\\') < 0 && strings.IndexByte(s, '\n') < 0 {
		return append(dst, s...)
	}
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '\n':
			esc = 'n'
		default:
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '\\', esc)
		start = i + 1
	}
	return append(dst, s[start:]...)
}

func appendNoNewline(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, ' ')
		s = s[i+1:]
	}
}
