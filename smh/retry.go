package smh

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds retries of one part or one API call. The zero value
// means the defaults documented on each field.
type RetryPolicy struct {
	MaxAttempts int           // attempts per part or call, including the first; default 5
	BaseDelay   time.Duration // backoff before the second attempt (before jitter); default 250ms
	MaxDelay    time.Duration // cap of one backoff, Retry-After included; default 30s
	// Jitter returns a number in [0, 1); default math/rand/v2. Tests fix it.
	Jitter func() float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.Jitter == nil {
		p.Jitter = rand.Float64
	}
	return p
}

// Backoff is the wait before attempt number attempt+1 (attempt counts from
// 1): full jitter over a capped exponential, but never less than what the
// server asked for in Retry-After (itself capped by MaxDelay).
func (p RetryPolicy) Backoff(attempt int, retryAfter time.Duration) time.Duration {
	p = p.withDefaults()
	ceil := p.MaxDelay
	if attempt < 30 {
		if d := p.BaseDelay << (attempt - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	d := time.Duration(p.Jitter() * float64(ceil))
	if retryAfter > d {
		d = min(retryAfter, p.MaxDelay)
	}
	return d
}

// retryableStatus reports whether an HTTP status is worth another attempt.
func retryableStatus(status int) bool {
	return status == 408 || status == 429 || status >= 500
}

// retryableCodes are SMH/COS codes that mean "try again later" whatever the status.
var retryableCodes = map[string]bool{
	"SlowDown": true, "RateLimitExceeded": true, "ServerOverloaded": true, "RequestTimeout": true,
	"InternalError": true, "InternalServerError": true, "ServiceUnavailable": true, "ReadRequestTimeout": true,
}

// parseRetryAfter reads Retry-After in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, ok := parseHTTPDate(v); ok && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// isExpiredSignature reports a storage refusal that a renew fixes: COS's
// 403 AccessDenied "Request has expired", or RequestTimeTooSkewed.
func isExpiredSignature(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Code == "RequestTimeTooSkewed" {
		return true
	}
	return e.Status == 403 && e.Code == "AccessDenied" && strings.Contains(e.Message, "Request has expired")
}
