package bridge

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// redacted stands for a password or a token in what the bridge prints,
// as in the URLs nats.go redacts.
const redacted = "xxxxx"

// RedactURL returns s, a NATS URL or a comma-separated list of them, with
// the credentials it holds replaced by "xxxxx": the password of
// user:password@, and the whole of token@ (a user name alone may be a
// token). It works on the text, so that a URL that does not parse is
// redacted as well: whatever comes before the last '@' of each URL (a NATS
// URL has no path) is taken as user information. The bridge prints URLs
// through it only: in its log records, in its errors, and (the pubsub
// command) in its ready line.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		at := strings.LastIndexByte(p, '@')
		if at < 0 {
			continue
		}
		start := 0
		if j := strings.Index(p[:at], "://"); j >= 0 {
			start = j + len("://")
		}
		user, password, hasPassword := strings.Cut(p[start:at], ":")
		switch {
		case !hasPassword:
			user = redacted // a token
		case password != "":
			user += ":" + redacted
		default:
			user += ":"
		}
		parts[i] = p[:start] + user + p[at:]
	}
	return strings.Join(parts, ",")
}

// ValidateURL checks a NATS URL, or a comma-separated list of them, as
// the bridge takes it: scheme nats, tls, ws or wss (nats when absent), a
// host, and a numeric port if any. Its error names the URL with its
// credentials redacted ([RedactURL]).
func ValidateURL(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("bridge: no NATS URL")
	}
	for _, one := range strings.Split(s, ",") {
		one = strings.TrimSpace(one)
		shown := RedactURL(one)
		u := one
		if !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		p, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("bridge: invalid NATS URL %q: %v", shown, parseError(u))
		}
		switch p.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("bridge: invalid NATS URL %q: scheme %q, want nats://, tls://, ws:// or wss://", shown, p.Scheme)
		}
		if p.Hostname() == "" {
			return fmt.Errorf("bridge: invalid NATS URL %q: no host", shown)
		}
		if port := p.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("bridge: invalid NATS URL %q: port %q is not a number from 1 to 65535", shown, port)
			}
		}
		if p.Path != "" && p.Path != "/" {
			// A '/' in a password that is not percent-encoded ends the
			// host early: the path then holds the rest of the password.
			if p.User != nil || strings.Contains(p.Path, "@") {
				return fmt.Errorf("bridge: invalid NATS URL %q: a '/' in the user information must be written %%2F", shown)
			}
			return fmt.Errorf("bridge: invalid NATS URL %q: unexpected path %q", shown, p.Path)
		}
	}
	return nil
}

// parseError is why url.Parse refused u, without the credentials the
// error may quote: the error of parsing u redacted, or, when that parses,
// a word on the user information, which is then what was wrong.
func parseError(u string) string {
	_, err := url.Parse(RedactURL(u))
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err.Error() // without the URL, which ue quotes
	}
	if err != nil {
		return "cannot parse it"
	}
	return "the user name, password or token has a character that must be percent-encoded"
}
