package smh

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCleanPath(t *testing.T) {
	long := strings.Repeat("a", 256)
	for _, tc := range []struct {
		in, want, code string
	}{
		{"a.bin", "a.bin", ""},
		{"/dir/sub/a b.bin", "dir/sub/a b.bin", ""},
		{"dir/", "dir", ""},
		{"文件/照片.jpg", "文件/照片.jpg", ""},
		{"", "", CodeEmptyPath},
		{"///", "", CodeEmptyPath},
		{"a//b", "", CodeIllegalPath},
		{"../etc/passwd", "", CodeIllegalPath},
		{"a/./b", "", CodeIllegalPath},
		{"a\x00b", "", CodeIllegalPath},
		{"a\nb", "", CodeIllegalPath},
		{`a\b`, "", CodeIllegalPath},
		{long, "", CodeIllegalPath},
		{"ok/" + strings.Repeat("é", 127), "ok/" + strings.Repeat("é", 127), ""},
		{string([]byte{0xff, 0xfe}), "", CodeIllegalPath},
	} {
		got, err := CleanPath(tc.in)
		if tc.code == "" {
			assert.NoError(t, err, tc.in)
			assert.Equal(t, tc.want, got)
			continue
		}
		var e *Error
		if assert.ErrorAs(t, err, &e, "%q", tc.in) {
			assert.Equal(t, tc.code, e.Code, "%q", tc.in)
			assert.ErrorIs(t, err, ErrInvalidInput)
		}
	}
}

func TestPlanPartSize(t *testing.T) {
	const MiB = 1 << 20
	for _, tc := range []struct {
		size, want, got int64
		code            string
	}{
		{0, 0, DefaultPartSize, ""},
		{100 * MiB, 0, 8 * MiB, ""},
		{100 * MiB, 5 * MiB, 5 * MiB, ""},
		{80000 * MiB, 0, 8 * MiB, ""},            // exactly 10,000 parts
		{80000*MiB + 1, 0, 9 * MiB, ""},          // one byte more grows by a MiB
		{1 << 40, 0, 105 * MiB, ""},              // 1 TiB
		{MaxFileSize, 0, MaxPartSize, ""},        // the largest file
		{MaxFileSize + 1, 0, 0, CodeInvalidSize}, // too large for 10,000 parts
		{-1, 0, 0, CodeInvalidSize},
		{10 * MiB, MiB - 1, 0, CodeInvalidPartSize},
		{10 * MiB, -5, 0, CodeInvalidPartSize},
		{10 * MiB, MaxPartSize + 1, 0, CodeInvalidPartSize},
	} {
		ps, err := PlanPartSize(tc.size, tc.want)
		if tc.code != "" {
			var e *Error
			require.ErrorAs(t, err, &e, "size %d", tc.size)
			assert.Equal(t, tc.code, e.Code)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.got, ps, "size %d", tc.size)
		assert.LessOrEqual(t, partCount(tc.size, ps), MaxParts)
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, Jitter: func() float64 { return 0.999999 }}
	assert.InDelta(t, float64(100*time.Millisecond), float64(p.Backoff(1, 0)), float64(time.Millisecond))
	assert.InDelta(t, float64(400*time.Millisecond), float64(p.Backoff(3, 0)), float64(time.Millisecond))
	assert.InDelta(t, float64(2*time.Second), float64(p.Backoff(10, 0)), float64(time.Millisecond), "capped")
	assert.InDelta(t, float64(2*time.Second), float64(p.Backoff(100, 0)), float64(time.Millisecond), "no overflow")
	p.Jitter = func() float64 { return 0 }
	assert.Equal(t, time.Duration(0), p.Backoff(3, 0), "full jitter reaches zero")
	assert.Equal(t, time.Second, p.Backoff(1, time.Second), "Retry-After is a floor")
	assert.Equal(t, 2*time.Second, p.Backoff(1, time.Hour), "Retry-After is capped")
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, 3*time.Second, parseRetryAfter("3", now))
	assert.Equal(t, 90*time.Second, parseRetryAfter(now.Add(90*time.Second).Format(time.RFC1123), now))
	assert.Equal(t, time.Duration(0), parseRetryAfter("soon", now))
	assert.Equal(t, time.Duration(0), parseRetryAfter("", now))
}

func TestParseErrorBody(t *testing.T) {
	now := time.Now()
	smhErr := parseErrorBody("begin", &Response{StatusCode: 403, Header: Header{},
		Body: []byte(`{"code":"InvalidAccessToken","message":"token expired","requestId":"r-1"}`)}, now)
	assert.Equal(t, "InvalidAccessToken", smhErr.Code)
	assert.Equal(t, "r-1", smhErr.RequestID)
	assert.False(t, smhErr.Retryable)

	cos := parseErrorBody("part", &Response{StatusCode: 403, Header: Header{"x-cos-request-id": "cos-9"}, Body: []byte(
		`<?xml version='1.0' encoding='utf-8' ?><Error><Code>AccessDenied</Code><Message>Request has expired</Message><Resource>/k</Resource><ServerTime>2020-06-17T05:37:29Z</ServerTime></Error>`)}, now)
	assert.Equal(t, "AccessDenied", cos.Code)
	assert.Equal(t, "cos-9", cos.RequestID)
	assert.True(t, isExpiredSignature(cos))

	slow := parseErrorBody("part", &Response{StatusCode: 503, Header: Header{"retry-after": "7"}, Body: []byte(`<Error><Code>SlowDown</Code></Error>`)}, now)
	assert.True(t, slow.Retryable)
	assert.Equal(t, 7*time.Second, slow.RetryAfter)

	bare := parseErrorBody("confirm", &Response{StatusCode: 502, Header: Header{}, Body: []byte("bad gateway")}, now)
	assert.Equal(t, "HTTP502", bare.Code)
	assert.True(t, bare.Retryable)

	crc := parseErrorBody("confirm", &Response{StatusCode: 400, Header: Header{}, Body: []byte(`{"code":"BadCrc64"}`)}, now)
	assert.ErrorIs(t, crc, ErrIntegrity)
}

func TestRedaction(t *testing.T) {
	u := redactURL("https://api.example/api/v1/file/l/-/a?multipart&access_token=SECRET-TOKEN&x=1")
	assert.NotContains(t, u, "SECRET-TOKEN")
	assert.Contains(t, u, "x=1")
	assert.Equal(t, "token REDACTED and REDACTED", scrub("token SECRET-TOKEN and SECRET%2BTOK", "SECRET-TOKEN", "SECRET+TOK"))
}

// recorder is a Doer that answers from a script and records requests.
type recorder struct {
	mu      sync.Mutex
	reqs    []*Request
	answers []*Response
}

func (r *recorder) Do(_ context.Context, req *Request) (*Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	if len(r.answers) == 0 {
		return nil, errors.New("dial tcp: connection refused")
	}
	a := r.answers[0]
	r.answers = r.answers[1:]
	return a, nil
}

func jsonResp(status int, body string) *Response {
	return &Response{StatusCode: status, Header: Header{"content-type": "application/json"}, Body: []byte(body)}
}

func TestClientWireFormat(t *testing.T) {
	rec := &recorder{answers: []*Response{
		jsonResp(201, `{"domain":"cos.example","path":"/obj","uploadId":"u1","headers":{"Authorization":"q-sign"},"confirmKey":"ck1","expiration":"2026-11-25T12:00:00.000Z","availableDomainNum":"1"}`),
		jsonResp(200, `{"domain":"cos2.example","path":"/obj","uploadId":"u1","headers":{"Authorization":"q2"},"confirmKey":"ck1","expiration":"2026-11-25T13:00:00.000Z","availableDomainNum":1}`),
		jsonResp(200, `{"path":["d","a (1).bin"],"name":"a (1).bin","size":"12","crc64":"99"}`),
		{StatusCode: 204, Header: Header{}},
	}}
	c, err := NewClient(ClientConfig{Endpoint: "https://smh.example/", LibraryID: "lib", SpaceID: "sp", UserID: "u 1", AccessToken: "tok"}, rec)
	require.NoError(t, err)
	ctx := context.Background()
	res, err := c.BeginMultipart(ctx, BeginOptions{Path: "/d/a b+c.bin", Size: 12, Conflict: ConflictAsk, TrafficLimit: 1 << 20})
	require.NoError(t, err)
	require.NotNil(t, res.Upload)
	assert.Equal(t, "ck1", res.Upload.ConfirmKey)
	assert.Equal(t, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), res.Upload.Expiration.UTC())
	info, err := c.Renew(ctx, "ck1", 0)
	require.NoError(t, err)
	assert.Equal(t, "cos2.example", info.Domain)
	crc := uint64(99)
	fi, err := c.Confirm(ctx, "ck1", ConfirmOptions{CRC64: &crc})
	require.NoError(t, err)
	assert.Equal(t, int64(12), fi.SizeBytes())
	require.NoError(t, c.CancelUpload(ctx, "ck1"))

	require.Len(t, rec.reqs, 4)
	assert.Equal(t, "POST", rec.reqs[0].Method)
	assert.Equal(t, "https://smh.example/api/v1/file/lib/sp/d/a%20b+c.bin?multipart&access_token=tok&conflict_resolution_strategy=ask&filesize=12&traffic_limit=1048576&user_id=u+1", rec.reqs[0].URL)
	assert.Nil(t, rec.reqs[0].Body, "no hashes: no body, so a browser sends it without a preflight")
	assert.Empty(t, rec.reqs[0].Header.Get("Content-Type"))
	assert.Equal(t, "https://smh.example/api/v1/file/lib/sp/ck1?renew&access_token=tok&user_id=u+1", rec.reqs[1].URL)
	assert.Equal(t, "https://smh.example/api/v1/file/lib/sp/ck1?confirm&access_token=tok&user_id=u+1", rec.reqs[2].URL)
	assert.JSONEq(t, `{"crc64":"99"}`, string(rec.reqs[2].Body))
	assert.Equal(t, "DELETE", rec.reqs[3].Method)
	assert.Equal(t, "https://smh.example/api/v1/file/lib/sp/ck1?upload&access_token=tok&user_id=u+1", rec.reqs[3].URL)
}

func TestClientRefreshesTokenOnceForConcurrentCalls(t *testing.T) {
	var mu sync.Mutex
	refreshes := 0
	doer := doerFunc(func(req *Request) (*Response, error) {
		if strings.Contains(req.URL, "access_token=new") {
			return jsonResp(200, `{"confirmed":false,"uploadId":"u"}`), nil
		}
		return jsonResp(403, `{"code":"InvalidAccessToken","message":"expired"}`), nil
	})
	c, err := NewClient(ClientConfig{Endpoint: "https://smh.example", LibraryID: "lib", AccessToken: "old",
		RefreshToken: func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			refreshes++
			return "new", nil
		}}, doer)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := c.UploadStatus(context.Background(), "ck")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, refreshes)
}

func TestClientErrorsHideSecrets(t *testing.T) {
	doer := doerFunc(func(req *Request) (*Response, error) {
		// a server or proxy that echoes the request back
		return jsonResp(400, `{"code":"ParamInvalid","message":"bad request `+req.URL+`"}`), nil
	})
	c, err := NewClient(ClientConfig{Endpoint: "https://smh.example", LibraryID: "lib", AccessToken: "tok-SECRET-1234"}, doer)
	require.NoError(t, err)
	_, err = c.UploadStatus(context.Background(), "ck")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "tok-SECRET-1234")

	tc, err := NewTokenClient("https://smh.example", "lib", "LIB-SECRET-99", doer)
	require.NoError(t, err)
	_, err = tc.Create(context.Background(), TokenOptions{Grant: UploadGrants})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "LIB-SECRET-99")
	err = tc.Delete(context.Background(), "tok-SECRET-1234")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "tok-SECRET-1234")
	assert.NotContains(t, err.Error(), "LIB-SECRET-99")

	netErr := doerFunc(func(req *Request) (*Response, error) {
		return nil, errors.New("Post " + req.URL + ": connection reset by peer")
	})
	c, err = NewClient(ClientConfig{Endpoint: "https://smh.example", LibraryID: "lib", AccessToken: "tok-SECRET-1234",
		Retry: RetryPolicy{MaxAttempts: 1}}, netErr)
	require.NoError(t, err)
	_, err = c.UploadStatus(context.Background(), "ck")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "tok-SECRET-1234")
	assert.True(t, IsRetryable(err))
}

type doerFunc func(*Request) (*Response, error)

func (f doerFunc) Do(_ context.Context, r *Request) (*Response, error) { return f(r) }

func TestClientWithoutTokenGetsOneFirst(t *testing.T) {
	var seen []string
	doer := doerFunc(func(req *Request) (*Response, error) {
		seen = append(seen, req.URL)
		return jsonResp(200, `{"confirmed":false,"uploadId":"u"}`), nil
	})
	c, err := NewClient(ClientConfig{Endpoint: "https://smh.example", LibraryID: "lib",
		RefreshToken: func(context.Context) (string, error) { return "first", nil }}, doer)
	require.NoError(t, err)
	_, err = c.UploadStatus(context.Background(), "ck")
	require.NoError(t, err)
	require.Len(t, seen, 1)
	assert.Contains(t, seen[0], "access_token=first")
}
