package icinga2

import (
	"encoding/json"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// reply is what Icinga answered about one object.
type reply struct {
	HTTPStatus int
	Code       int // the object's code inside the reply, else the HTTP status
	Status     string
	Errors     []string
	NoResults  bool // a 2xx without any per-object result
}

// wireReply covers both shapes Icinga answers with: per-object results
// ({"results":[{"code":200,"status":"..."}]}) and a request-level error
// ({"error":404,"status":"No objects found."}).
type wireReply struct {
	Results []struct {
		Code   *float64 `json:"code"`
		Status string   `json:"status"`
		Errors []string `json:"errors"`
	} `json:"results"`
	Error  *float64 `json:"error"`
	Status string   `json:"status"`
}

// parseReply reads an answer to a request about one object. It never
// fails: a body that is not Icinga's JSON (an HTML page from Icinga or a
// proxy) leaves the HTTP status as the code and a short, printable excerpt
// of the body as the status text. With several results (Icinga matched more
// than one object), the first that is not a success counts.
func parseReply(httpStatus int, body []byte) reply {
	r := reply{HTTPStatus: httpStatus, Code: httpStatus}
	var w wireReply
	if err := json.Unmarshal(body, &w); err != nil {
		r.Status = excerpt(body)
		r.NoResults = success(httpStatus) // a 200 that is not Icinga's proves nothing
		return r
	}
	r.Status = clean(w.Status)
	if w.Error != nil {
		r.Code = code(*w.Error)
	}
	if len(w.Results) == 0 {
		r.NoResults = success(httpStatus) && w.Error == nil
		return r
	}
	pick := -1
	for i, res := range w.Results {
		if res.Code == nil || !success(code(*res.Code)) {
			pick = i
			break
		}
	}
	if pick < 0 {
		pick = 0
	}
	res := w.Results[pick]
	r.Code = 0 // a result without a code is no success
	if res.Code != nil {
		r.Code = code(*res.Code)
	}
	r.Status = clean(res.Status)
	for _, e := range res.Errors {
		r.Errors = append(r.Errors, clean(e))
	}
	return r
}

func success(code int) bool { return code >= 200 && code <= 299 }

// code turns a JSON number into a status code; what cannot be one is 0.
func code(f float64) int {
	if f != math.Trunc(f) || f < 0 || f > 999 {
		return 0
	}
	return int(f)
}

// excerpt is a printable start of a body that is not JSON, for a message.
func excerpt(body []byte) string {
	s := string(body)
	if len(s) > 200 {
		s = s[:200]
	}
	return clean(s)
}

// clean makes text from the network safe for one log line: valid UTF-8,
// no control characters, trimmed, at most 500 bytes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 500 {
		cut := 500
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// checkResultError turns Icinga's answer to process-check-result into nil
// (delivered) or a *ReplyError.
func checkResultError(r reply, host, service string) error {
	var kind error
	switch {
	case r.NoResults:
		kind, r.Status = ErrServer, "reply without a result: "+r.Status
	case success(r.Code) && success(r.HTTPStatus):
		// Icinga 2.13 says "Ignoring passive check result for unreachable
		// object ..." with code 200 when the object's dependencies failed;
		// an object's name may contain any word, so only the start counts.
		if !strings.HasPrefix(r.Status, "Ignoring") {
			return nil
		}
		kind = ErrUnreachable
	case success(r.Code):
		kind = statusKind(r.HTTPStatus)
	default:
		kind = statusKind(r.Code)
	}
	return &ReplyError{Kind: kind, Op: "process-check-result", Host: host, Service: service,
		HTTPStatus: r.HTTPStatus, Code: r.Code, Status: r.Status, Errors: r.Errors}
}

// createError turns Icinga's answer to PUT /v1/objects/... into whether
// the object existed already, or a *ReplyError.
func createError(r reply, op, host, service string) (existed bool, err error) {
	kind := statusKind(r.Code)
	switch {
	case r.NoResults:
		kind, r.Status = ErrServer, "reply without a result: "+r.Status
	case success(r.Code) && success(r.HTTPStatus):
		return false, nil
	case success(r.Code):
		kind = statusKind(r.HTTPStatus)
	case r.Code == 500 && r.Status == "Object could not be created." && len(r.Errors) > 0:
		joined := strings.Join(r.Errors, "\n")
		switch {
		case strings.Contains(joined, "already exists"):
			return true, nil
		case strings.Contains(joined, "of type 'Host' does not exist"):
			kind = ErrUnknownObject // a service for a host that is not there
		default:
			kind = ErrBadRequest // validation: unknown template or attribute, bad value
		}
	}
	return false, &ReplyError{Kind: kind, Op: op, Host: host, Service: service,
		HTTPStatus: r.HTTPStatus, Code: r.Code, Status: r.Status, Errors: r.Errors}
}

// statusKind is the kind of a status code that is not a success.
func statusKind(code int) error {
	switch {
	case code == 401:
		return ErrUnauthorized
	case code == 404:
		return ErrUnknownObject
	case code == 409:
		return ErrOutdated // Icinga 2.14+: "Newer check result already present"
	case code >= 400 && code <= 499:
		return ErrBadRequest
	default:
		return ErrServer // 5xx, and anything Icinga does not send (redirects, 1xx, 0)
	}
}
