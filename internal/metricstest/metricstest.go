package metricstest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Deadline bounds Wait: things that normally take milliseconds.
const Deadline = 20 * time.Second

// Scrape GETs url (".../metrics") and returns the body. A status other
// than 200 fails the test.
func Scrape(tb testing.TB, url string) string {
	tb.Helper()
	body, err := scrape(tb, url)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func scrape(tb testing.TB, url string) (string, error) {
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{url, resp.StatusCode, string(b)}
	}
	return string(b), nil
}

type statusError struct {
	url  string
	code int
	body string
}

func (e *statusError) Error() string {
	return "GET " + e.url + ": " + strconv.Itoa(e.code) + "\n" + e.body
}

// Value finds series, written as the exposition writes it (labels in name
// order: `picket_check_state{host="h",service="s"}`), in body.
func Value(body, series string) (float64, bool) {
	for line := range strings.Lines(body) {
		rest, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		return v, err == nil
	}
	return 0, false
}

// Wait scrapes url until series is present with a value ok accepts, and
// returns that value and the body it came in. It fails the test after
// Deadline, showing the last scrape.
func Wait(tb testing.TB, url, series string, ok func(float64) bool) (float64, string) {
	tb.Helper()
	var v float64
	body := WaitFor(tb, url, series, func(body string) bool {
		var found bool
		v, found = Value(body, series)
		return found && ok(v)
	})
	return v, body
}

// WaitFor scrapes url until ok accepts the body, and returns it. It fails
// the test after Deadline, saying it waited for what and showing the last
// scrape.
func WaitFor(tb testing.TB, url, what string, ok func(body string) bool) string {
	tb.Helper()
	deadline := time.Now().Add(Deadline)
	for {
		body, err := scrape(tb, url)
		if err == nil && ok(body) {
			return body
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: waited %v for %s; last scrape: %v\n%s", url, Deadline, what, err, body)
		}
		select {
		case <-tb.Context().Done():
			tb.Fatal(tb.Context().Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Is accepts exactly v.
func Is(v float64) func(float64) bool { return func(x float64) bool { return x == v } }

// AtLeast accepts v or more.
func AtLeast(v float64) func(float64) bool { return func(x float64) bool { return x >= v } }
