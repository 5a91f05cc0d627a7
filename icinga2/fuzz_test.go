package icinga2

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseReply: any status and body give an answer without panicking; a
// result counts as delivered only if both the HTTP status and Icinga's own
// code say success; text kept from the body is one printable line.
func FuzzParseReply(f *testing.F) {
	for _, s := range []struct {
		code int
		body string
	}{
		{200, `{"results":[{"code":200,"status":"Successfully processed check result for object 'a!b'."}]}`},
		{200, `{"results":[{"code":200,"status":"Ignoring passive check result for unreachable object 'a'."}]}`},
		{404, `{"error":404,"status":"No objects found."}`},
		{500, `{"results":[{"code":500,"errors":["Object 'a' already exists."],"status":"Object could not be created."}]}`},
		{400, `<h1>Accept header is missing</h1>`},
		{200, `{"results":[{"code":2e2}]}`},
		{200, `{"results":[{"code":-1},{"code":1e300}]}`},
		{200, `null`},
	} {
		f.Add(s.code, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		r := parseReply(code, body)
		for _, s := range append([]string{r.Status}, r.Errors...) {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\x00") || len(s) > 503 {
				t.Fatalf("unclean text %q", s)
			}
		}
		err := checkResultError(r, "h", "s")
		if err == nil && !(success(code) && success(r.Code) && !r.NoResults) {
			t.Fatalf("delivered on HTTP %d code %d: %q", code, r.Code, body)
		}
		if err != nil && Kind(err) == "other" {
			t.Fatalf("unclassified %v", err)
		}
		existed, err := createError(r, "create host", "h", "")
		if existed && err != nil {
			t.Fatal("existed and failed at once")
		}
		var re *ReplyError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("not a ReplyError: %v", err)
		}
	})
}
