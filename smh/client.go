package smh

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ClientConfig configures a Client. Zero values mean the documented defaults.
type ClientConfig struct {
	// Endpoint is the SMH API base URL, e.g. https://api.tencentsmh.cn or a
	// library's own https://smhxxx.api.tencentsmh.cn. Its scheme is also used
	// for the storage domain, which SMH returns without one: the real service
	// is HTTPS only, so http:// means a local emulator.
	Endpoint  string
	LibraryID string
	SpaceID   string // "-" (the default) for a single-tenant library
	UserID    string // sent as user_id, for admin tokens acting as a user
	// AccessToken is the token to start with.
	AccessToken string
	// RefreshToken, when set, is called for a new token when SMH answers
	// 403 InvalidAccessToken; one call serves every request that saw the
	// same stale token.
	RefreshToken func(ctx context.Context) (string, error)
	Retry        RetryPolicy // for API calls
	Clock        Clock       // default SystemClock
}

// Client speaks the SMH upload API. It is safe for concurrent use.
type Client struct {
	cfg     ClientConfig
	base    *url.URL
	doer    Doer
	retry   RetryPolicy
	clock   Clock
	mu      sync.Mutex // guards token, tokenGen
	token   string
	gen     uint64
	refresh sync.Mutex // one refresh at a time
	skew    atomic.Int64
}

// NewClient checks cfg and returns a Client that sends through doer.
func NewClient(cfg ClientConfig, doer Doer) (*Client, error) {
	if doer == nil {
		return nil, invalid(CodeInvalidInput, "no transport")
	}
	u, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, invalid(CodeInvalidInput, "endpoint %q is not an http(s) URL", redactURL(cfg.Endpoint))
	}
	if cfg.LibraryID == "" || strings.ContainsAny(cfg.LibraryID, "/?#%") {
		return nil, invalid(CodeInvalidInput, "library id %q is empty or has illegal characters", cfg.LibraryID)
	}
	if cfg.SpaceID == "" {
		cfg.SpaceID = "-"
	}
	if strings.ContainsAny(cfg.SpaceID, "/?#%") {
		return nil, invalid(CodeInvalidInput, "space id %q has illegal characters", cfg.SpaceID)
	}
	if cfg.AccessToken == "" && cfg.RefreshToken == nil {
		return nil, invalid(CodeInvalidInput, "no access token and no way to get one")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	return &Client{cfg: cfg, base: u, doer: doer, retry: cfg.Retry.withDefaults(), clock: cfg.Clock, token: cfg.AccessToken}, nil
}

// ServerNow is the client's estimate of the server's clock: the local clock
// plus the offset learned from the Date header of SMH and COS answers.
func (c *Client) ServerNow() time.Time {
	return c.clock.Now().Add(time.Duration(c.skew.Load()))
}

// ObserveDate learns the clock offset from a response's Date header. Date has
// one-second resolution, so offsets under two seconds are taken as none.
func (c *Client) ObserveDate(h Header) {
	d := h.Get("date")
	if d == "" {
		return
	}
	t, ok := parseHTTPDate(d)
	if !ok {
		return
	}
	off := t.Sub(c.clock.Now())
	if off > -2*time.Second && off < 2*time.Second {
		off = 0
	}
	c.skew.Store(int64(off))
}

func (c *Client) currentToken() (string, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token, c.gen
}

// refreshToken gets a new token unless someone already replaced the one
// that was refused (gen); concurrent callers wait for one refresh.
func (c *Client) refreshToken(ctx context.Context, gen uint64) error {
	if c.cfg.RefreshToken == nil {
		return errNoRefresh
	}
	c.refresh.Lock()
	defer c.refresh.Unlock()
	if _, cur := c.currentToken(); cur != gen {
		return nil
	}
	tok, err := c.cfg.RefreshToken(ctx)
	if err == nil && tok == "" {
		err = errors.New("empty token")
	}
	if err != nil {
		return &Error{Op: "token", Code: CodeTokenRefresh, Message: "access token refresh failed: " + c.scrub(err.Error()), Retryable: true, Err: ErrAccessToken}
	}
	c.mu.Lock()
	c.token = tok
	c.gen++
	c.mu.Unlock()
	emit(ctx, Event{Type: EventToken})
	return nil
}

var errNoRefresh = errors.New("no token refresher")

func (c *Client) scrub(s string) string {
	tok, _ := c.currentToken()
	return scrub(s, tok, c.cfg.AccessToken)
}

// call describes one API request.
type call struct {
	op     string
	method string
	path   string     // below /api/v1/, already escaped
	flag   string     // valueless selector such as "multipart"; "" for none
	query  url.Values // besides access_token and user_id
	body   []byte     // a JSON body, sent when non-nil
	out    decoder    // decodes a 2xx body when non-nil
}

// do sends a call with token refresh and retries, and returns the 2xx response.
func (c *Client) do(ctx context.Context, k call) (*Response, error) {
	body := k.body
	refreshed := false
	for attempt := 1; ; attempt++ {
		tok, gen := c.currentToken()
		if tok == "" && c.cfg.RefreshToken != nil && k.path != "token" && !strings.HasPrefix(k.path, "token/") {
			// No token yet: get one rather than send a call SMH can only
			// refuse (400 EmptyAccessToken, which no refresh would follow).
			if rerr := c.refreshToken(ctx, gen); rerr != nil {
				if ctx.Err() != nil {
					return nil, &Error{Op: k.op, Code: CodeCanceled, Err: cause(ctx)}
				}
				e := rerr.(*Error)
				if attempt >= c.retry.MaxAttempts {
					e.Attempts = attempt
					return nil, e
				}
				if err := c.clock.Sleep(ctx, c.retry.Backoff(attempt, 0)); err != nil {
					return nil, &Error{Op: k.op, Code: CodeCanceled, Err: cause(ctx)}
				}
				continue
			}
			tok, gen = c.currentToken()
		}
		req := &Request{Method: k.method, URL: c.url(k, tok), Header: Header{}, Body: body}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.doer.Do(ctx, req)
		var e *Error
		switch {
		case err != nil:
			if cerr := ctx.Err(); cerr != nil {
				return nil, &Error{Op: k.op, Code: CodeCanceled, Err: cause(ctx)}
			}
			e = &Error{Op: k.op, Code: CodeNetwork, Message: c.scrub(err.Error()), Retryable: true, Err: redactErr(err)}
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			c.ObserveDate(resp.Header)
			if k.out != nil && len(bytes.TrimSpace(resp.Body)) > 0 {
				if err := decodeJSON(resp.Body, k.out); err != nil {
					return nil, &Error{Op: k.op, Status: resp.StatusCode, Code: CodeBadResponse,
						Message: "undecodable response: " + err.Error()}
				}
			}
			return resp, nil
		default:
			c.ObserveDate(resp.Header)
			e = c.responseError(k.op, resp)
		}
		if e.Status == 403 && e.Code == "InvalidAccessToken" && !refreshed && c.cfg.RefreshToken != nil {
			rerr := c.refreshToken(ctx, gen)
			if rerr == nil {
				refreshed = true
				attempt-- // a refresh is not a retry
				continue
			}
			if ctx.Err() != nil {
				return nil, &Error{Op: k.op, Code: CodeCanceled, Err: cause(ctx)}
			}
			// A token provider that failed (a broker down for a moment) is
			// asked again after a backoff, like any transient failure.
			e = rerr.(*Error)
		}
		if e.Status == 403 && e.Code == "InvalidAccessToken" {
			e.Err = ErrAccessToken
		}
		if !e.Retryable || attempt >= c.retry.MaxAttempts {
			e.Attempts = attempt
			return nil, e
		}
		d := c.retry.Backoff(attempt, e.RetryAfter)
		emit(ctx, Event{Type: EventRetry, Op: k.op, Attempt: attempt, Delay: d, Code: e.Code, Status: e.Status})
		if err := c.clock.Sleep(ctx, d); err != nil {
			return nil, &Error{Op: k.op, Code: CodeCanceled, Err: cause(ctx)}
		}
	}
}

func (c *Client) url(k call, token string) string {
	var q strings.Builder
	if k.flag != "" {
		q.WriteString(k.flag) // SMH documents the selectors without a value
		q.WriteByte('&')
	}
	v := url.Values{}
	for key, vals := range k.query {
		v[key] = vals
	}
	if token != "" {
		v.Set("access_token", token)
	}
	if c.cfg.UserID != "" {
		v.Set("user_id", c.cfg.UserID)
	}
	q.WriteString(v.Encode())
	return c.base.String() + "/api/v1/" + k.path + "?" + strings.TrimSuffix(q.String(), "&")
}

// filePath is "file/{lib}/{space}/{escaped path or key}".
func (c *Client) filePath(kind, p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return kind + "/" + url.PathEscape(c.cfg.LibraryID) + "/" + url.PathEscape(c.cfg.SpaceID) + "/" + strings.Join(segs, "/")
}

// responseError turns an SMH JSON or COS XML error answer into an *Error.
func (c *Client) responseError(op string, resp *Response) *Error {
	e := parseErrorBody(op, resp, c.clock.Now())
	e.Message = c.scrub(e.Message)
	return e
}

func parseErrorBody(op string, resp *Response, now time.Time) *Error {
	e := &Error{Op: op, Status: resp.StatusCode}
	body := bytes.TrimSpace(resp.Body)
	switch {
	case len(body) > 0 && body[0] == '{':
		var j errorBody
		if decodeJSON(body, &j) == nil {
			e.Code, e.Message, e.RequestID = j.Code, j.Message, j.RequestID
		}
	case len(body) > 0 && body[0] == '<':
		// COS errors are tiny fixed-shape XML; a scan keeps encoding/xml
		// (and its size) out of the browser build.
		e.Code = xmlText(body, "Code")
		e.Message = xmlText(body, "Message")
		e.RequestID = xmlText(body, "RequestId")
	}
	if e.RequestID == "" {
		e.RequestID = firstNonEmpty(resp.Header.Get("x-smh-request-id"), resp.Header.Get("x-cos-request-id"), resp.Header.Get("x-request-id"))
	}
	if e.Code == "" {
		e.Code = "HTTP" + strconv.Itoa(resp.StatusCode)
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("retry-after"), now)
	e.Retryable = retryableStatus(resp.StatusCode) || retryableCodes[e.Code]
	switch {
	case e.Code == "BadCrc64":
		e.Err = ErrIntegrity
	case e.Code == "SameNameDirectoryOrFileExists":
		e.Err = ErrConflict
	}
	return e
}

func xmlText(body []byte, tag string) string {
	open, end := []byte("<"+tag+">"), []byte("</"+tag+">")
	i := bytes.Index(body, open)
	if i < 0 {
		return ""
	}
	rest := body[i+len(open):]
	j := bytes.Index(rest, end)
	if j < 0 {
		return ""
	}
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")
	return r.Replace(string(bytes.TrimSpace(rest[:j])))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// cause returns the reason ctx ended: ErrPaused/ErrCanceled when the task
// set one, else ctx.Err().
func cause(ctx context.Context) error {
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return ctx.Err()
}

// flexInt decodes a JSON number or a numeric string: SMH documents some
// numbers as strings (size, availableDomainNum) and SDK models disagree.
type flexInt int64

// UnmarshalJSON is for programs that decode these types with encoding/json.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	if err := f.parse(strings.Trim(string(b), `"`)); err != nil {
		return errors.New("not an integer: " + string(b))
	}
	return nil
}

func (f *flexInt) parse(s string) error {
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// redactErr removes secrets from the URL a transport error carries (net/http
// reports *url.Error with the whole request URL) while keeping its chain.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	return err
}
