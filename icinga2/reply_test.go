package icinga2

import (
	"errors"
	"strings"
	"testing"
)

// Replies as Icinga 2.13.6 sends them (measured), and the shapes it could.
func TestCheckResultReplies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		http   int
		body   string
		kind   error // nil: delivered
		status string
	}{
		{"applied", 200, `{"results":[{"code":200,"status":"Successfully processed check result for object 'web01!disk'."}]}`, nil, ""},
		{"object named unreachable", 200, `{"results":[{"code":200,"status":"Successfully processed check result for object 'unreachable!x'."}]}`, nil, ""},
		{"unreachable", 200, `{"results":[{"code":200,"status":"Ignoring passive check result for unreachable object 'behind!svc'."}]}`, ErrUnreachable, "Ignoring passive"},
		{"unknown object", 404, `{"error":404,"status":"No objects found."}`, ErrUnknownObject, "No objects found."},
		{"bad credentials", 401, `{"error":401,"status":"Unauthorized. Please check your user credentials."}`, ErrUnauthorized, "Unauthorized"},
		{"host exit status", 400, `{"results":[{"code":400,"status":"Invalid 'exit_status' for Host web01."}]}`, ErrBadRequest, "Invalid 'exit_status'"},
		{"no Accept header", 400, `<h1>Accept header is missing or not set to 'application/json'.</h1>`, ErrBadRequest, "Accept header is missing"},
		{"bad body", 400, `{"error":400,"status":"Invalid request body: Error: [json.exception.parse_error.101]\n"}`, ErrBadRequest, "Invalid request body"},
		{"passive disabled", 403, `{"results":[{"code":403,"status":"Passive checks are disabled for object 'a!b'."}]}`, ErrBadRequest, "Passive checks are disabled"},
		{"newer present (2.14+)", 409, `{"results":[{"code":409,"status":"Newer check result already present. Check result for 'a!b' was discarded."}]}`, ErrOutdated, "Newer check result"},
		{"action failed", 500, `{"results":[{"code":500,"status":"Action execution failed: 'Error: x'."}]}`, ErrServer, "Action execution failed"},
		{"inactive (2.14+)", 503, `{"results":[{"code":503,"status":"Could not process check result for object 'a' because the object is inactive."}]}`, ErrServer, "inactive"},
		{"filter matched nothing", 500, `{"results":[]}`, ErrServer, ""},
		{"200 without results", 200, `{"results":[]}`, ErrServer, "without a result"},
		{"200 not JSON", 200, `OK`, ErrServer, "without a result"},
		{"200 with inner 400", 200, `{"results":[{"code":400,"status":"Parameter 'plugin_output' is required"}]}`, ErrBadRequest, "plugin_output"},
		{"200 result without code", 200, `{"results":[{"status":"?"}]}`, ErrServer, "?"},
		{"inner 200 under HTTP 500", 500, `{"results":[{"code":200,"status":"Successfully processed"}]}`, ErrServer, ""},
		{"one of two failed", 404, `{"results":[{"code":200,"status":"ok"},{"code":404,"status":"gone"}]}`, ErrUnknownObject, "gone"},
		{"proxy page", 502, "<html>\x00Bad\tGateway</html>", ErrServer, "<html> Bad Gateway</html>"},
		{"redirect", 302, ``, ErrServer, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkResultError(parseReply(tc.http, []byte(tc.body)), "web01", "disk")
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("got %v, want delivered", err)
				}
				return
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			var re *ReplyError
			if !errors.As(err, &re) || re.Host != "web01" || re.Service != "disk" || re.HTTPStatus != tc.http {
				t.Fatalf("not a ReplyError for web01!disk with HTTP %d: %#v", tc.http, err)
			}
			if !strings.Contains(re.Status, tc.status) || !strings.Contains(err.Error(), "web01!disk") {
				t.Fatalf("status %q (message %q), want it to contain %q", re.Status, err, tc.status)
			}
		})
	}
}

func TestCreateReplies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		http    int
		body    string
		existed bool
		kind    error
	}{
		{"created", 200, `{"results":[{"code":200,"status":"Object was created"}]}`, false, nil},
		{"exists", 500, `{"results":[{"code":500,"errors":["Object 'new01' already exists."],"status":"Object could not be created."}]}`, true, nil},
		{"no such host", 500, `{"results":[{"code":500,"errors":["Error: Validation failed for object 'ghost!load' of type 'Service'; Attribute 'host_name': Object 'ghost' of type 'Host' does not exist.\nLocation: in x.conf: 4:2-4:20"],"status":"Object could not be created."}]}`, false, ErrUnknownObject},
		{"unknown template", 500, `{"results":[{"code":500,"errors":["Error: Import references unknown template: 'nope'\nLocation: x"],"status":"Object could not be created."}]}`, false, ErrBadRequest},
		{"bad attribute", 500, `{"results":[{"code":500,"errors":["Error: Invalid attribute specified: bogus\n"],"status":"Object could not be created."}]}`, false, ErrBadRequest},
		{"other 500", 500, `{"results":[{"code":500,"status":"Something else."}]}`, false, ErrServer},
		{"unauthorized", 401, `{"error":401,"status":"Unauthorized. Please check your user credentials."}`, false, ErrUnauthorized},
		{"no permission", 404, `{"error":404,"status":"No objects found."}`, false, ErrUnknownObject},
		{"200 without results", 200, `{}`, false, ErrServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existed, err := createError(parseReply(tc.http, []byte(tc.body)), "create service", "ghost", "load")
			if existed != tc.existed || (tc.kind == nil) != (err == nil) || (tc.kind != nil && !errors.Is(err, tc.kind)) {
				t.Fatalf("got existed=%v err=%v, want existed=%v kind %v", existed, err, tc.existed, tc.kind)
			}
		})
	}
}

func TestCleanKeepsOneLine(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	for in, want := range map[string]string{
		"a\nb\x00c\x1b[31m": "a b c [31m",
		"bad \xff utf8":     "bad ? utf8",
		long:                strings.Repeat("é", 250) + "...",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKindAndRetryable(t *testing.T) {
	for _, tc := range []struct {
		err       error
		kind      string
		retryable bool
	}{
		{nil, "", false},
		{&ReplyError{Kind: ErrUnauthorized}, "unauthorized", false},
		{&ReplyError{Kind: ErrUnknownObject}, "unknown_object", false},
		{&ReplyError{Kind: ErrBadRequest}, "bad_request", false},
		{&ReplyError{Kind: ErrServer}, "server_error", true},
		{&ReplyError{Kind: ErrUnreachable}, "unreachable", false},
		{&ReplyError{Kind: ErrOutdated}, "outdated", false},
		{&TLSError{Kind: ErrUntrustedCertificate}, "tls_untrusted", false},
		{&TLSError{Kind: ErrCertificateName}, "tls_name", false},
		{&TLSError{Kind: ErrTLS}, "tls", false},
		{ErrUnavailable, "unavailable", true},
		{ErrNotSent, "not_sent", true},
		{ErrInvalid, "invalid", false},
		{errors.New("x"), "other", false},
	} {
		if got := Kind(tc.err); got != tc.kind {
			t.Errorf("Kind(%v) = %q, want %q", tc.err, got, tc.kind)
		}
		if got := Retryable(tc.err); got != tc.retryable {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.retryable)
		}
	}
	if !errors.Is(&TLSError{Kind: ErrCertificateName}, ErrTLS) {
		t.Error("a certificate name error must match ErrTLS")
	}
}
