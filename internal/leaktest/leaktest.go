package leaktest

import (
	"runtime"
	"strings"
	"time"
)

// Find returns the stack of a goroutine still running code of pkg (an
// import path such as "github.com/picket-monitoring/picket/poller"), or "".
// A goroutine that is on its way out gets up to wait to end, so one that
// was just told to stop is not reported.
func Find(pkg string, wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		leaked := ""
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, pkg+".") && !strings.Contains(g, pkg+".TestMain") &&
				!strings.Contains(g, "leaktest.Find") {
				leaked = g
			}
		}
		if leaked == "" || !time.Now().Before(deadline) {
			return leaked
		}
		time.Sleep(10 * time.Millisecond)
	}
}
