package icinga2

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Info is what Icinga says about itself and the caller on GET /v1.
type Info struct {
	Version     string   // Icinga's version, e.g. "r2.13.6-1"
	User        string   // the ApiUser the request was authenticated as
	Permissions []string // that user's permissions, as configured
	// Certificate is the server's certificate as it presented it.
	Certificate *x509.Certificate
}

// Ping asks GET /v1, which needs no permission but a valid login: it
// proves the TLS trust, the credentials and the API together, without
// touching an object. A failure is a TLS error, an ErrUnavailable error,
// or matches the status's kind (ErrUnauthorized for 401).
func (c *Client) Ping(ctx context.Context) (Info, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return Info{}, fmt.Errorf("icinga2: GET /v1: %w", context.Cause(ctx))
	}
	defer func() { <-c.sem }()
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.base+"/v1", nil)
	if err != nil {
		return Info{}, fmt.Errorf("icinga2: GET /v1: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Info{}, c.transportError(ctx, http.MethodGet, "/v1", err)
	}
	defer resp.Body.Close()
	var info Info
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		info.Certificate = resp.TLS.PeerCertificates[0]
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return info, c.transportError(ctx, http.MethodGet, "/v1", err)
	}
	if resp.StatusCode != http.StatusOK {
		return info, fmt.Errorf("icinga2: GET %s/v1: %w (HTTP %s)", c.host, statusKind(resp.StatusCode), resp.Status)
	}
	var reply struct {
		Results []struct {
			User        string   `json:"user"`
			Version     string   `json:"version"`
			Permissions []string `json:"permissions"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &reply); err != nil || len(reply.Results) != 1 {
		return info, fmt.Errorf("icinga2: GET %s/v1: %w: not Icinga's answer: %s", c.host, ErrServer, excerpt(body))
	}
	r := reply.Results[0]
	info.User, info.Version, info.Permissions = r.User, r.Version, r.Permissions
	return info, nil
}

// Can reports whether the permissions grant perm (such as
// "actions/process-check-result"), with Icinga's wildcards: '*' matches
// any run of characters, '/' included.
func (i Info) Can(perm string) bool {
	for _, p := range i.Permissions {
		if wildcard(p, perm) {
			return true
		}
	}
	return false
}

func wildcard(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	rest := pattern[star+1:]
	for i := star; i <= len(s); i++ {
		if wildcard(rest, s[i:]) {
			return true
		}
	}
	return false
}
