package externals

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

var (
	errDowngrade     = errors.New("refusing a redirect from https to http")
	errManyRedirects = fmt.Errorf("stopped after %d redirects", maxRedirects)
)

// checkRedirect keeps a redirect from taking the request off TLS, where
// anyone on the path could answer it.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return errManyRedirects
	}
	for _, v := range via {
		if v.URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w (to %s)", errDowngrade, req.URL.Redacted())
		}
	}
	return nil
}

// retryPolicy retries what may go away by itself: connection trouble,
// 5xx and 429. Any other answer is the server's considered reply.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if errors.Is(err, errDowngrade) || errors.Is(err, errManyRedirects) {
			return false, err
		}
		// The library knows which transport errors are permanent (bad
		// certificate, bad scheme) and returns them unretried.
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, nil
}

// backoff is exponential with jitter (half fixed, half random, so many
// agents restarted together spread out) and honours Retry-After, both
// capped at max: the library's default obeys any Retry-After, and one
// server saying "in an hour" would stall a fetch past its timeout.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return capWait(d, hi)
		}
	}
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = capWait(d, hi)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func capWait(d, hi time.Duration) time.Duration {
	if d > hi {
		return hi
	}
	return d
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		// Any wait this long is capped later; this only keeps the
		// multiplication below from overflowing.
		n = min(n, int64(24*time.Hour/time.Second))
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// giveUp turns the last failed attempt into one error saying how often
// it was tried, and frees the response the library leaves open.
func giveUp(resp *http.Response, err error, tries int) (*http.Response, error) {
	if resp != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if err == nil {
			err = fmt.Errorf("server answered %s", resp.Status)
		}
	}
	if err == nil {
		err = errors.New("request failed")
	}
	// The caller names the URL already; url.Error would repeat it.
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err
	}
	return nil, fmt.Errorf("%w (%d %s)", err, tries, plural(tries, "attempt", "attempts"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// retryLogger puts the library's messages into the agent's log at debug
// level: a failed attempt is detail, the Outcome of Fetch is the news.
type retryLogger struct{ l *slog.Logger }

func (r retryLogger) Error(msg string, kv ...any) { r.l.Debug("externals: "+msg, kv...) }
func (r retryLogger) Warn(msg string, kv ...any)  { r.l.Debug("externals: "+msg, kv...) }
func (r retryLogger) Info(msg string, kv ...any)  { r.l.Debug("externals: "+msg, kv...) }
func (r retryLogger) Debug(msg string, kv ...any) { r.l.Debug("externals: "+msg, kv...) }
