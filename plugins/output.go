package plugins

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/picket-monitoring/picket/internal/check"
)

// noOutput is what Nagios shows for a plugin that printed nothing.
const noOutput = "(No output returned from plugin)"

// capture keeps the first limit bytes written to it and counts the rest,
// so a plugin flooding its output neither blocks on a full pipe nor grows
// the agent's memory.
type capture struct {
	mu     sync.Mutex
	limit  int
	buf    []byte
	total  int64
	frozen bool
}

func newCapture(limit int) *capture { return &capture{limit: limit} }

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return len(p), nil
	}
	c.total += int64(len(p))
	if room := c.limit - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// readFrom copies r into c until EOF or a read error (such as the pipe
// being closed under it); either way the stream is over. It reads through a
// pooled buffer: io.Copy would allocate 32 KB per stream per run, which at
// a thousand runs a second is most of the agent's garbage.
func (c *capture) readFrom(r io.Reader) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			c.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// readBufs holds read buffers of a pipe's capacity, so one read takes
// whatever a plugin wrote in one go.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// snapshot returns what was kept and the full count, and ignores any later
// write: a reader goroutine that was abandoned must not change a result
// that has been handed out.
func (c *capture) snapshot() (text string, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen = true
	return string(c.buf), c.total
}

// pluginText is what a run printed, with the plugin API's rules applied.
type pluginText struct {
	output, long string
	perf         []check.Perf
	empty        bool
}

// decoded is the snapshot as valid UTF-8 (see decodeOutput), and whether
// the plugin wrote more than was kept.
func (c *capture) decoded(legacy []*charmap.Charmap) (text string, total int64, truncated bool) {
	raw, total := c.snapshot()
	return decodeOutput([]byte(raw), legacy), total, total > int64(len(raw))
}

// parseOutput reads stdout as the plugin API says. A plugin that wrote only
// to stderr (often a shell script failing early) gets its stderr shown, as
// the best clue there is. legacy are the code pages tried for output that is
// neither UTF-8 nor UTF-16.
func parseOutput(stdout, stderr *capture, limit int, legacy []*charmap.Charmap) pluginText {
	text, total, truncated := stdout.decoded(legacy)
	if strings.TrimSpace(text) == "" {
		text, total, truncated = stderr.decoded(legacy)
	}
	if strings.TrimSpace(text) == "" {
		return pluginText{output: noOutput, empty: true}
	}
	if truncated {
		text = cutAtLine(text)
	}
	// Bad perfdata items are dropped by the parser, which keeps the good
	// ones; a check's state must not depend on a typo in its perfdata.
	out, long, perf, _ := check.ParsePluginOutput(text)
	if truncated {
		marker := fmt.Sprintf("[output truncated at %d of %d bytes]", limit, total)
		if long != "" {
			long += "\n"
		}
		long += marker
	}
	return pluginText{output: out, long: long, perf: perf}
}

// cutAtLine drops the partial last line of output cut at the cap, so a
// half-written perfdata item or line is not reported as if it were whole.
// A first line longer than the cap is kept as far as it goes.
func cutAtLine(text string) string {
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		return text[:i+1]
	}
	// A multi-byte character cut in two is not the plugin's text.
	for i := 1; i < utf8.UTFMax && i <= len(text); i++ {
		if tail := text[len(text)-i:]; utf8.RuneStart(tail[0]) {
			if !utf8.FullRuneInString(tail) {
				text = text[:len(text)-i]
			}
			break
		}
	}
	return text
}
