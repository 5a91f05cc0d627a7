package icinga2

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// wireObject is the body of PUT /v1/objects/<type>/<name>.
type wireObject struct {
	Templates []string       `json:"templates,omitempty"`
	Attrs     map[string]any `json:"attrs,omitempty"`
}

// PutHost creates host name from templates and attrs (e.g. "address",
// "vars"), at runtime and without a reload; Icinga keeps it across
// restarts. A host that exists already is left as it is and reported with
// existed = true and no error.
func (c *Client) PutHost(ctx context.Context, name string, templates []string, attrs map[string]any) (existed bool, err error) {
	if name == "" || strings.Contains(name, "!") {
		return false, fmt.Errorf("icinga2: create host %q: a host needs a name without \"!\": %w", name, ErrInvalid)
	}
	return c.put(ctx, "create host", "/v1/objects/hosts/"+url.PathEscape(name), name, "", templates, attrs)
}

// PutService creates service svc on host, like PutHost. The host must
// exist (else ErrUnknownObject).
func (c *Client) PutService(ctx context.Context, host, svc string, templates []string, attrs map[string]any) (existed bool, err error) {
	if host == "" || strings.Contains(host, "!") || svc == "" {
		return false, fmt.Errorf("icinga2: create service %q on host %q: both need a name, the host's without \"!\": %w",
			svc, host, ErrInvalid)
	}
	path := "/v1/objects/services/" + url.PathEscape(host) + "!" + url.PathEscape(svc)
	return c.put(ctx, "create service", path, host, svc, templates, attrs)
}

func (c *Client) put(ctx context.Context, op, path, host, svc string, templates []string, attrs map[string]any) (bool, error) {
	body, err := json.Marshal(wireObject{Templates: templates, Attrs: attrs})
	if err != nil {
		return false, fmt.Errorf("icinga2: %s %s: %w: %w", op, object(host, svc), ErrInvalid, err)
	}
	status, reply, err := c.call(ctx, "PUT", path, body)
	if err != nil {
		return false, err
	}
	return createError(parseReply(status, reply), op, host, svc)
}
