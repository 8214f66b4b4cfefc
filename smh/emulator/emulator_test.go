package emulator_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/internal/fakeclock"
)

const (
	lib   = "smhlibrary"
	tok   = "test-admin-token"
	mib   = 1 << 20
	space = "-"
)

var ecma = crc64.MakeTable(crc64.ECMA)

// inBothModes runs f with a Config that keeps files in memory, then with one
// that keeps them on disk.
func inBothModes(t *testing.T, f func(t *testing.T, cfg emulator.Config)) {
	t.Run("memory", func(t *testing.T) { f(t, emulator.Config{}) })
	t.Run("dir", func(t *testing.T) { f(t, emulator.Config{Dir: t.TempDir()}) })
}

// newClock is the injected clock: tests move time instead of sleeping.
func newClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

type env struct {
	t     *testing.T
	srv   *emulator.Server
	clock *fakeclock.Clock
	hc    *http.Client
}

func start(t *testing.T, cfg emulator.Config) *env {
	t.Helper()
	clock := newClock()
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.AccessToken == "" {
		cfg.AccessToken = tok
	}
	srv, err := emulator.Start(cfg)
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return &env{t: t, srv: srv, clock: clock, hc: &http.Client{Transport: tr}}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// code is the SMH JSON error code of the answer.
func (r resp) code(t *testing.T) string {
	t.Helper()
	var e struct{ Code, Message, RequestID string }
	r.decode(t, &e)
	return e.Code
}

type cosErr struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	Resource   string
	RequestId  string
	TraceId    string
	ServerTime string
}

func (r resp) cosErr(t *testing.T) cosErr {
	t.Helper()
	var e cosErr
	require.NoError(t, xml.Unmarshal(r.body, &e), "body: %s", r.body)
	assert.Equal(t, "application/xml", r.header.Get("Content-Type"))
	return e
}

func (e *env) do(req *http.Request) resp {
	e.t.Helper()
	res, err := e.hc.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// call sends an API request; query is raw ("multipart=1"), the admin token is added unless the query
// carries access_token already or token is "-".
func (e *env) call(method, path, query string, body any) resp {
	return e.callTok(tok, method, path, query, body)
}

func (e *env) callTok(token, method, path, query string, body any) resp {
	e.t.Helper()
	if token != "-" && !strings.Contains(query, "access_token=") {
		if query != "" {
			query += "&"
		}
		query += "access_token=" + url.QueryEscape(token)
	}
	u := e.srv.Endpoint + path
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.do(req)
}

// filePath is the API path of a file, encoded whole as the JS SDK does ("/" as %2F).
func filePath(p string) string { return "/api/v1/file/" + lib + "/" + space + "/" + url.PathEscape(p) }

type uploadInfo struct {
	Domain             string            `json:"domain"`
	Path               string            `json:"path"`
	UploadID           string            `json:"uploadId"`
	Headers            map[string]string `json:"headers"`
	ConfirmKey         string            `json:"confirmKey"`
	Expiration         string            `json:"expiration"`
	AvailableDomainNum int               `json:"availableDomainNum"`
}

type fileInfo struct {
	Path             []string `json:"path"`
	Name             string   `json:"name"`
	Type             string   `json:"type"`
	CreationTime     string   `json:"creationTime"`
	ModificationTime string   `json:"modificationTime"`
	ContentType      string   `json:"contentType"`
	Size             string   `json:"size"`
	ETag             string   `json:"eTag"`
	CRC64            string   `json:"crc64"`
}

func (e *env) begin(p, query string, body any) uploadInfo {
	e.t.Helper()
	if query != "" {
		query = "multipart=1&" + query
	} else {
		query = "multipart=1"
	}
	r := e.call("POST", filePath(p), query, body)
	require.Equal(e.t, 201, r.status, "begin: %s", r.body)
	var info uploadInfo
	r.decode(e.t, &info)
	return info
}

func (e *env) putPartReq(info uploadInfo, n int, data []byte) *http.Request {
	e.t.Helper()
	u := fmt.Sprintf("http://%s%s?partNumber=%d&uploadId=%s", info.Domain, info.Path, n, url.QueryEscape(info.UploadID))
	if info.UploadID == "" {
		u = "http://" + info.Domain + info.Path
	}
	req, err := http.NewRequest("PUT", u, bytes.NewReader(data))
	require.NoError(e.t, err)
	for k, v := range info.Headers {
		req.Header.Set(k, v)
	}
	return req
}

func (e *env) putPart(info uploadInfo, n int, data []byte) resp {
	e.t.Helper()
	return e.do(e.putPartReq(info, n, data))
}

func (e *env) mustPut(info uploadInfo, n int, data []byte) {
	e.t.Helper()
	r := e.putPart(info, n, data)
	require.Equal(e.t, 200, r.status, "part %d: %s", n, r.body)
}

func (e *env) confirm(key string, query string, body any) resp {
	e.t.Helper()
	if query != "" {
		query = "confirm&" + query
	} else {
		query = "confirm"
	}
	return e.call("POST", filePath(key), query, body)
}

func crcBody(data []byte) map[string]string {
	return map[string]string{"crc64": strconv.FormatUint(crc64.Checksum(data, ecma), 10)}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func quotedMD5(b []byte) string {
	s := md5.Sum(b)
	return `"` + hex.EncodeToString(s[:]) + `"`
}

// hashes computes beginningHash and the chained fullHash of smh-api.md §3.
func hashes(data []byte) (begin, full string) {
	var prev []byte
	for off := 0; off == 0 || off < len(data); off += mib {
		h := sha256.New()
		h.Write(prev)
		h.Write(data[off:min(off+mib, len(data))])
		prev = h.Sum(nil)
		if off == 0 {
			begin = hex.EncodeToString(prev)
		}
	}
	return begin, hex.EncodeToString(prev)
}

// uploadFile runs a whole multipart upload of data to p with 1 MiB parts and returns the confirm answer.
func (e *env) uploadFile(p, query string, data []byte) resp {
	e.t.Helper()
	info := e.begin(p, query, nil)
	for n, off := 1, 0; off < len(data); n, off = n+1, off+mib {
		e.mustPut(info, n, data[off:min(off+mib, len(data))])
	}
	return e.confirm(info.ConfirmKey, "", crcBody(data))
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func millis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ---- tokens and grants ----

func TestTokens(t *testing.T) {
	e := start(t, emulator.Config{TokenPeriod: 10 * time.Minute})

	r := e.callTok("-", "GET", "/api/v1/token", "library_id="+lib+"&library_secret=wrong", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "WrongLibraryIdOrSecret", r.code(t))
	r = e.callTok("-", "GET", "/api/v1/token", "library_id="+lib, nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "EmptyLibrarySecret", r.code(t))

	// period below the floor is raised to it; the floor is Config.TokenPeriod when that is below 1200 s.
	r = e.callTok("-", "POST", "/api/v1/token", "library_id="+lib+"&library_secret=smhsecret&grant=upload_file&period=60", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var created struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int64  `json:"expiresIn"`
	}
	r.decode(t, &created)
	require.NotEmpty(t, created.AccessToken)
	assert.EqualValues(t, 600, created.ExpiresIn)
	assert.Equal(t, 3, e.srv.Count("token.create"), "refused creations count too")

	// Sliding expiry: every authenticated call extends the token by its period.
	probe := func() resp { return e.callTok(created.AccessToken, "GET", filePath("0123"), "upload", nil) }
	for range 3 {
		e.clock.Advance(500 * time.Second)
		r = probe()
		assert.Equal(t, 404, r.status)
		assert.Equal(t, "UploadNotFound", r.code(t))
	}
	e.clock.Advance(601 * time.Second)
	r = probe()
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "InvalidAccessToken", r.code(t))

	// Explicit renew keeps the token and its period; delete ends it.
	r = e.callTok("-", "GET", "/api/v1/token", "library_id="+lib+"&library_secret=smhsecret&grant=admin&period=5000", nil)
	require.Equal(t, 200, r.status)
	r.decode(t, &created)
	assert.EqualValues(t, 5000, created.ExpiresIn)
	e.clock.Advance(4000 * time.Second)
	r = e.callTok("-", "POST", "/api/v1/token/"+lib+"/"+created.AccessToken, "", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var renewed struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int64  `json:"expiresIn"`
	}
	r.decode(t, &renewed)
	assert.Equal(t, created.AccessToken, renewed.AccessToken)
	assert.EqualValues(t, 5000, renewed.ExpiresIn)
	e.clock.Advance(4000 * time.Second) // 8000 s after creation, 4000 after renew
	assert.Equal(t, 404, e.callTok(created.AccessToken, "GET", filePath("0123"), "upload", nil).status)

	r = e.callTok("-", "DELETE", "/api/v1/token/"+lib+"/"+created.AccessToken, "", nil)
	assert.Equal(t, 204, r.status)
	assert.Empty(t, r.body)
	r = e.callTok(created.AccessToken, "GET", filePath("0123"), "upload", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "InvalidAccessToken", r.code(t))
	assert.Equal(t, 1, e.srv.Count("token.renew"))
	assert.Equal(t, 1, e.srv.Count("token.delete"))

	// No token, wrong library.
	r = e.callTok("-", "GET", filePath("0123"), "upload", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "EmptyAccessToken", r.code(t))
	r = e.call("GET", "/api/v1/file/otherlib/-/0123", "upload", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "LibraryNotFound", r.code(t))
	assert.NotEmpty(t, r.header.Get("x-smh-request-id"))
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))

	// ExpireTokens invalidates every token, the configured one included.
	e.srv.ExpireTokens()
	r = e.call("GET", filePath("0123"), "upload", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "InvalidAccessToken", r.code(t))
}

func newToken(t *testing.T, e *env, query string) string {
	t.Helper()
	r := e.callTok("-", "GET", "/api/v1/token", "library_id="+lib+"&library_secret=smhsecret&"+query, nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var v struct {
		AccessToken string `json:"accessToken"`
	}
	r.decode(t, &v)
	return v.AccessToken
}

func TestGrants(t *testing.T) {
	e := start(t, emulator.Config{})
	readOnly := newToken(t, e, "grant=")
	beginOnly := newToken(t, e, "grant=begin_upload")
	confirmOnly := newToken(t, e, "grant=confirm_upload")
	otherSpace := newToken(t, e, "grant=admin&space_id=s1,s2")

	r := e.callTok(readOnly, "POST", filePath("a.bin"), "multipart", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "NoPermission", r.code(t))
	r = e.callTok(confirmOnly, "POST", filePath("a.bin"), "multipart", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "NoPermission", r.code(t))
	r = e.callTok(otherSpace, "POST", filePath("a.bin"), "multipart", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "AccessTokenNotMatchSpace", r.code(t))

	// begin_upload begins and lists but cannot confirm; confirm_upload confirms (a backend owns confirm).
	r = e.callTok(beginOnly, "POST", filePath("a.bin"), "multipart", nil)
	require.Equal(t, 201, r.status, "%s", r.body)
	var info uploadInfo
	r.decode(t, &info)
	e.mustPut(info, 1, []byte("hello"))
	assert.Equal(t, 200, e.callTok(beginOnly, "GET", filePath(info.ConfirmKey), "upload", nil).status)
	r = e.callTok(beginOnly, "POST", filePath(info.ConfirmKey), "confirm", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "NoPermission", r.code(t))
	r = e.callTok(confirmOnly, "POST", filePath(info.ConfirmKey), "confirm", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	got, err := e.srv.ReadFile(space, "a.bin")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
}

// ---- multipart ----

func TestMultipartFlow(t *testing.T) {
	e := start(t, emulator.Config{})
	require.NoError(t, e.srv.CreateDirectory(space, "dir"))
	data := randomBytes(2*mib+100*1024, 1)
	parts := [][]byte{data[:mib], data[mib : 2*mib], data[2*mib:]}

	r := e.call("POST", filePath("dir/a.bin"), "multipart=1", map[string]string{})
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Equal(t, e.clock.Now().Format(http.TimeFormat), r.header.Get("Date"))
	var info uploadInfo
	r.decode(t, &info)
	assert.Equal(t, strings.TrimPrefix(e.srv.COSEndpoint, "http://"), info.Domain)
	assert.True(t, strings.HasPrefix(info.Path, "/"))
	assert.NotEmpty(t, info.UploadID)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), info.ConfirmKey)
	assert.Equal(t, millis(e.clock.Now().Add(time.Hour)), info.Expiration)
	assert.Equal(t, 1, info.AvailableDomainNum)
	assert.Equal(t, "application/octet-stream", info.Headers["Content-Type"])
	assert.NotEmpty(t, info.Headers["x-cos-security-token"])
	start := e.clock.Now().Unix()
	assert.Regexp(t, fmt.Sprintf(`^q-sign-algorithm=sha1&q-ak=\w+&q-sign-time=%d;%d&q-key-time=%d;%d&q-header-list=&q-url-param-list=uploadid&q-signature=[0-9a-f]{40}$`,
		start, start+3600, start, start+3600), info.Headers["Authorization"])

	for _, n := range []int{3, 1, 2} {
		r := e.putPart(info, n, parts[n-1])
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, quotedMD5(parts[n-1]), r.header.Get("ETag"))
		assert.Equal(t, strconv.FormatUint(crc64.Checksum(parts[n-1], ecma), 10), r.header.Get("x-cos-hash-crc64ecma"))
		assert.NotEmpty(t, r.header.Get("x-cos-request-id"))
		assert.NotEmpty(t, r.header.Get("Date"))
		assert.Empty(t, r.body)
	}
	assert.Equal(t, []int{1, 2, 3}, e.srv.UploadedParts(info.ConfirmKey))
	assert.Equal(t, 1, e.srv.OpenUploads())

	r = e.call("GET", filePath(info.ConfirmKey), "upload=1", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var st struct {
		Confirmed                  bool     `json:"confirmed"`
		Path                       []string `json:"path"`
		Type                       string   `json:"type"`
		ConflictResolutionStrategy string   `json:"conflictResolutionStrategy"`
		UploadID                   string   `json:"uploadId"`
		Parts                      []struct {
			PartNumber   int
			LastModified string
			ETag         string
			Size         int64
		} `json:"parts"`
		UploadPartInfo uploadInfo `json:"uploadPartInfo"`
	}
	r.decode(t, &st)
	assert.False(t, st.Confirmed)
	assert.Equal(t, []string{"dir", "a.bin"}, st.Path)
	assert.Equal(t, "rename", st.ConflictResolutionStrategy)
	assert.Equal(t, info.UploadID, st.UploadID)
	require.Len(t, st.Parts, 3)
	for i, p := range st.Parts {
		assert.Equal(t, i+1, p.PartNumber)
		assert.Equal(t, quotedMD5(parts[i]), p.ETag)
		assert.EqualValues(t, len(parts[i]), p.Size)
		assert.Equal(t, millis(e.clock.Now()), p.LastModified)
	}
	assert.Equal(t, info.UploadID, st.UploadPartInfo.UploadID)
	assert.Equal(t, info.Path, st.UploadPartInfo.Path)
	assert.NotEmpty(t, st.UploadPartInfo.Headers["Authorization"])

	r = e.confirm(info.ConfirmKey, "", crcBody(data))
	require.Equal(t, 200, r.status, "%s", r.body)
	var fi fileInfo
	r.decode(t, &fi)
	assert.Equal(t, []string{"dir", "a.bin"}, fi.Path)
	assert.Equal(t, "a.bin", fi.Name)
	assert.Equal(t, strconv.Itoa(len(data)), fi.Size)
	assert.Equal(t, strconv.FormatUint(crc64.Checksum(data, ecma), 10), fi.CRC64)
	assert.NotEmpty(t, fi.ETag)

	got, err := e.srv.ReadFile(space, "dir/a.bin")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got), "stored bytes differ")
	meta, err := e.srv.FileInfo(space, "/dir/a.bin")
	require.NoError(t, err)
	assert.Equal(t, crc64.Checksum(data, ecma), meta.CRC64)
	assert.EqualValues(t, len(data), meta.Size)
	assert.Equal(t, 0, e.srv.OpenUploads())
	assert.Nil(t, e.srv.UploadedParts(info.ConfirmKey))

	r = e.confirm(info.ConfirmKey, "", nil)
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "UploadComplete", r.code(t))
	r = e.putPart(info, 1, parts[0])
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "NoSuchUpload", r.cosErr(t).Code)
	r = e.call("GET", filePath(info.ConfirmKey), "upload", nil)
	require.Equal(t, 200, r.status)
	st.Parts = nil
	r.decode(t, &st)
	assert.True(t, st.Confirmed)
	assert.Nil(t, st.Parts)
	r = e.call("POST", filePath(info.ConfirmKey), "renew", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "UploadNotFound", r.code(t))

	// Per-element path with a leading "/", bare flags, crc64 as a JSON number.
	r = e.call("POST", "/api/v1/file/"+lib+"/"+space+"//dir/b.bin", "multipart", nil)
	require.Equal(t, 201, r.status, "%s", r.body)
	r.decode(t, &info)
	e.mustPut(info, 1, parts[2])
	r = e.call("POST", "/api/v1/file/"+lib+"/"+space+"/"+info.ConfirmKey, "confirm",
		fmt.Sprintf(`{"crc64":%d}`, crc64.Checksum(parts[2], ecma)))
	require.Equal(t, 200, r.status, "%s", r.body)
	r.decode(t, &fi)
	assert.Equal(t, []string{"dir", "b.bin"}, fi.Path)

	assert.Equal(t, 2, e.srv.Count("begin.multipart"))
	assert.Equal(t, 5, e.srv.Count("part")) // three, one refused after confirm, one
	assert.Equal(t, 3, e.srv.Count("confirm"))
	e.srv.ResetCounts()
	assert.Equal(t, 0, e.srv.Count("part"))
}

func TestConfirmErrors(t *testing.T) {
	e := start(t, emulator.Config{})
	big := randomBytes(mib, 2)

	t.Run("BadCrc64", func(t *testing.T) {
		info := e.begin("crc.bin", "", nil)
		e.mustPut(info, 1, big)
		r := e.confirm(info.ConfirmKey, "", map[string]string{"crc64": "12345"})
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "BadCrc64", r.code(t))
		assert.Equal(t, []int{1}, e.srv.UploadedParts(info.ConfirmKey), "the task stays open")
		r = e.confirm(info.ConfirmKey, "", crcBody(big))
		assert.Equal(t, 200, r.status, "%s", r.body)
	})
	t.Run("Gap", func(t *testing.T) {
		info := e.begin("gap.bin", "", nil)
		r := e.confirm(info.ConfirmKey, "", nil)
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "MultipartUploadIncomplete", r.code(t))
		e.mustPut(info, 1, big)
		e.mustPut(info, 3, big)
		r = e.confirm(info.ConfirmKey, "", nil)
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "MultipartUploadIncomplete", r.code(t))
	})
	t.Run("SmallMiddlePart", func(t *testing.T) {
		info := e.begin("small.bin", "", nil)
		e.mustPut(info, 1, big)
		e.mustPut(info, 2, []byte("tiny"))
		e.mustPut(info, 3, []byte("last may be small"))
		r := e.confirm(info.ConfirmKey, "", nil)
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "MultipartUploadPartTooSmall", r.code(t))
	})
	t.Run("Cancel", func(t *testing.T) {
		before := e.srv.OpenUploads()
		info := e.begin("cancel.bin", "", nil)
		e.mustPut(info, 1, big)
		assert.Equal(t, before+1, e.srv.OpenUploads())
		r := e.call("DELETE", filePath(info.ConfirmKey), "upload=1", nil)
		assert.Equal(t, 204, r.status)
		assert.Equal(t, before, e.srv.OpenUploads())
		for _, q := range []string{"renew", "confirm"} {
			r = e.call("POST", filePath(info.ConfirmKey), q, nil)
			assert.Equal(t, 404, r.status, q)
			assert.Equal(t, "UploadNotFound", r.code(t), q)
		}
		r = e.call("GET", filePath(info.ConfirmKey), "upload", nil)
		assert.Equal(t, "UploadNotFound", r.code(t))
		r = e.call("DELETE", filePath(info.ConfirmKey), "upload", nil)
		assert.Equal(t, "UploadNotFound", r.code(t))
		r = e.putPart(info, 2, big)
		assert.Equal(t, 404, r.status)
		assert.Equal(t, "NoSuchUpload", r.cosErr(t).Code)
		assert.Equal(t, 2, e.srv.Count("cancel"))
	})
}

func TestConflicts(t *testing.T) {
	e := start(t, emulator.Config{})
	require.NoError(t, e.srv.WriteFile(space, "c/a.bin", []byte("old")))
	data := []byte("new content")

	for _, want := range []string{"a (1).bin", "a (2).bin"} {
		r := e.uploadFile("c/a.bin", "", data)
		require.Equal(t, 200, r.status, "%s", r.body)
		var fi fileInfo
		r.decode(t, &fi)
		assert.Equal(t, []string{"c", want}, fi.Path)
	}

	r := e.uploadFile("c/a.bin", "conflict_resolution_strategy=overwrite", data)
	require.Equal(t, 200, r.status, "%s", r.body)
	var fi fileInfo
	r.decode(t, &fi)
	assert.Equal(t, []string{"c", "a.bin"}, fi.Path)
	got, err := e.srv.ReadFile(space, "c/a.bin")
	require.NoError(t, err)
	assert.Equal(t, data, got)

	r = e.call("POST", filePath("c/a.bin"), "multipart&conflict_resolution_strategy=ask", nil)
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "SameNameDirectoryOrFileExists", r.code(t))
	r = e.call("POST", filePath("c/a.bin"), "multipart&conflict_resolution_strategy=bogus", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "InvalidConflictResolutionStrategy", r.code(t))

	// ask at confirm: a file appeared after begin; the task stays open and can confirm with rename.
	info := e.begin("c/b.bin", "conflict_resolution_strategy=ask", nil)
	e.mustPut(info, 1, data)
	require.NoError(t, e.srv.WriteFile(space, "c/b.bin", []byte("racer")))
	r = e.confirm(info.ConfirmKey, "", nil)
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "SameNameDirectoryOrFileExists", r.code(t))
	assert.Equal(t, 1, e.srv.OpenUploads())
	r = e.confirm(info.ConfirmKey, "conflict_resolution_strategy=rename", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	r.decode(t, &fi)
	assert.Equal(t, []string{"c", "b (1).bin"}, fi.Path)

	// overwrite never replaces a directory.
	require.NoError(t, e.srv.CreateDirectory(space, "c/d"))
	r = e.call("POST", filePath("c/d"), "multipart&conflict_resolution_strategy=overwrite", nil)
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "SameNameDirectoryOrFileExists", r.code(t))
}

// ---- signatures ----

func TestSignatureExpiry(t *testing.T) {
	e := start(t, emulator.Config{SignatureTTL: 10 * time.Minute})
	data := randomBytes(mib, 3)
	info := e.begin("exp.bin", "", nil)
	assert.Equal(t, millis(e.clock.Now().Add(10*time.Minute)), info.Expiration)

	e.clock.Advance(10 * time.Minute)
	r := e.putPart(info, 1, data)
	require.Equal(t, 403, r.status)
	ce := r.cosErr(t)
	assert.Equal(t, "AccessDenied", ce.Code)
	assert.Equal(t, "Request has expired", ce.Message)
	assert.Equal(t, e.clock.Now().Format(time.RFC3339), ce.ServerTime)
	assert.NotEmpty(t, ce.RequestId)
	assert.Equal(t, 1, e.srv.Count("part.expired"))

	r = e.call("POST", filePath(info.ConfirmKey), "renew=1", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var renewed uploadInfo
	r.decode(t, &renewed)
	assert.Equal(t, info.UploadID, renewed.UploadID)
	assert.Equal(t, info.ConfirmKey, renewed.ConfirmKey)
	assert.Equal(t, info.Path, renewed.Path)
	assert.NotEqual(t, info.Headers["Authorization"], renewed.Headers["Authorization"])
	assert.Equal(t, millis(e.clock.Now().Add(10*time.Minute)), renewed.Expiration)
	e.mustPut(renewed, 1, data)

	// ExpireSignatures: the signature in hand is expired at once; a renew fixes it.
	e.srv.ExpireSignatures()
	r = e.putPart(renewed, 2, data)
	require.Equal(t, 403, r.status)
	assert.Equal(t, "Request has expired", r.cosErr(t).Message)
	r = e.call("POST", filePath(info.ConfirmKey), "renew", nil)
	require.Equal(t, 200, r.status)
	r.decode(t, &renewed)
	e.mustPut(renewed, 2, data)

	// Status hands out a fresh signature too.
	e.srv.ExpireSignatures()
	r = e.call("GET", filePath(info.ConfirmKey), "upload", nil)
	require.Equal(t, 200, r.status)
	var st struct {
		UploadPartInfo uploadInfo `json:"uploadPartInfo"`
	}
	r.decode(t, &st)
	e.mustPut(st.UploadPartInfo, 3, data)

	assert.Equal(t, 2, e.srv.Count("part.expired"))
	assert.Equal(t, 2, e.srv.Count("renew"))
}

func TestCOSRequestChecks(t *testing.T) {
	e := start(t, emulator.Config{})
	info := e.begin("chk.bin", "", nil)
	other := e.begin("other.bin", "", nil)
	data := []byte("part bytes")

	tampered := info
	tampered.Headers = map[string]string{}
	for k, v := range info.Headers {
		tampered.Headers[k] = v
	}
	auth := info.Headers["Authorization"]
	last := auth[len(auth)-1]
	tampered.Headers["Authorization"] = auth[:len(auth)-1] + map[bool]string{true: "1", false: "0"}[last == '0']
	r := e.putPart(tampered, 1, data)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "SignatureDoesNotMatch", r.cosErr(t).Code)

	// A signature is bound to its object key and upload id.
	cross := other
	cross.Headers = info.Headers
	r = e.putPart(cross, 1, data)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "SignatureDoesNotMatch", r.cosErr(t).Code)

	tampered.Headers["Authorization"] = auth
	tampered.Headers["x-cos-security-token"] = "nope"
	r = e.putPart(tampered, 1, data)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "InvalidAccessKeyId", r.cosErr(t).Code)

	delete(tampered.Headers, "Authorization")
	r = e.putPart(tampered, 1, data)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "AccessDenied", r.cosErr(t).Code)

	for _, n := range []int{0, 10001} {
		r = e.putPart(info, n, data)
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "InvalidArgument", r.cosErr(t).Code)
	}
	unknown := info
	unknown.UploadID = "nope"
	r = e.putPart(unknown, 1, data)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "NoSuchUpload", r.cosErr(t).Code)

	req := e.putPartReq(info, 1, data)
	req.Header.Set("x-cos-traffic-limit", "100")
	r = e.do(req)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "InvalidArgument", r.cosErr(t).Code)

	// Parameter order does not matter; overwriting a part is allowed.
	u := fmt.Sprintf("http://%s%s?uploadId=%s&partNumber=1", info.Domain, info.Path, info.UploadID)
	req, err := http.NewRequest("PUT", u, bytes.NewReader([]byte("v1")))
	require.NoError(t, err)
	for k, v := range info.Headers {
		req.Header.Set(k, v)
	}
	require.Equal(t, 200, e.do(req).status)
	r = e.putPart(info, 1, data)
	require.Equal(t, 200, r.status)
	r = e.confirm(info.ConfirmKey, "", crcBody(data))
	require.Equal(t, 200, r.status, "%s", r.body)

	// A body shorter than its Content-Length stores nothing and answers IncompleteBody.
	conn, err := net.Dial("tcp", other.Domain)
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s?partNumber=1&uploadId=%s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nx-cos-security-token: %s\r\nContent-Length: 100\r\n\r\n%s",
		other.Path, other.UploadID, other.Domain, other.Headers["Authorization"], other.Headers["x-cos-security-token"], strings.Repeat("x", 50))
	conn.(*net.TCPConn).CloseWrite()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 400, res.StatusCode)
	assert.Empty(t, e.srv.UploadedParts(other.ConfirmKey))
}

func TestTrafficLimit(t *testing.T) {
	e := start(t, emulator.Config{})
	info := e.begin("tl.bin", "traffic_limit=102400", nil)
	assert.Equal(t, "819200", info.Headers["x-cos-traffic-limit"])
	e.mustPut(info, 1, []byte("x"))
	r := e.call("POST", filePath("tl.bin"), "multipart&traffic_limit=1000", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "ParamInvalid", r.code(t))
}

// ---- simple and instant upload ----

func TestSimpleUpload(t *testing.T) {
	e := start(t, emulator.Config{})
	data := []byte("simple upload body")

	r := e.call("PUT", filePath("note.txt"), "filesize="+strconv.Itoa(len(data)), map[string]any{})
	require.Equal(t, 201, r.status, "%s", r.body)
	var info uploadInfo
	r.decode(t, &info)
	assert.Empty(t, info.UploadID)
	assert.NotEmpty(t, info.ConfirmKey)
	assert.Contains(t, info.Headers["Authorization"], "&q-url-param-list=&")
	assert.NotEmpty(t, info.Headers["Content-Type"])

	r = e.confirm(info.ConfirmKey, "", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "UploadIncomplete", r.code(t))
	r = e.call("POST", filePath(info.ConfirmKey), "renew", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "ParamInvalid", r.code(t))

	r = e.putPart(info, 0, data)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, quotedMD5(data), r.header.Get("ETag"))
	assert.Equal(t, []int{1}, e.srv.UploadedParts(info.ConfirmKey))
	r = e.confirm(info.ConfirmKey, "", crcBody(data))
	require.Equal(t, 200, r.status, "%s", r.body)
	got, err := e.srv.ReadFile(space, "note.txt")
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Equal(t, 1, e.srv.Count("object.put"))
	assert.Equal(t, 1, e.srv.Count("begin.simple"))

	r = e.putPart(info, 0, data)
	assert.Equal(t, 403, r.status, "a confirmed simple task takes no more objects")

	r = e.call("PUT", filePath("moved.txt"), "", map[string]string{"from": "note.txt"})
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "ParamInvalid", r.code(t))
}

func TestInstantUpload(t *testing.T) {
	e := start(t, emulator.Config{})
	data := randomBytes(2*mib+12345, 4)
	require.NoError(t, e.srv.WriteFile(space, "src/orig.bin", data))
	begin, full := hashes(data)
	size := strconv.Itoa(len(data))

	r := e.call("POST", filePath("copy.bin"), "multipart=1", map[string]string{"beginningHash": begin, "size": size})
	require.Equal(t, 202, r.status, "%s", r.body)
	assert.JSONEq(t, `{}`, string(r.body))

	r = e.call("POST", filePath("copy.bin"), "multipart=1", map[string]string{"beginningHash": begin, "fullHash": full, "size": size})
	require.Equal(t, 200, r.status, "%s", r.body)
	var fi fileInfo
	r.decode(t, &fi)
	assert.Equal(t, []string{"copy.bin"}, fi.Path)
	assert.Equal(t, size, fi.Size)
	got, err := e.srv.ReadFile(space, "copy.bin")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	assert.Equal(t, 0, e.srv.Count("part"))
	assert.Equal(t, 0, e.srv.OpenUploads())

	// Simple begin, size as a number, same name: renamed like a normal upload.
	r = e.call("PUT", filePath("copy.bin"), "", map[string]any{"beginningHash": begin, "fullHash": full, "size": len(data)})
	require.Equal(t, 200, r.status, "%s", r.body)
	r.decode(t, &fi)
	assert.Equal(t, []string{"copy (1).bin"}, fi.Path)

	// Other content, a wrong full hash, or a small file: a normal task.
	r = e.call("POST", filePath("x.bin"), "multipart", map[string]string{"beginningHash": begin, "fullHash": strings.Repeat("0", 64), "size": size})
	assert.Equal(t, 201, r.status)
	other, _ := hashes(randomBytes(2*mib, 5))
	r = e.call("POST", filePath("x.bin"), "multipart", map[string]string{"beginningHash": other, "size": size})
	assert.Equal(t, 201, r.status)
	small := []byte("small")
	require.NoError(t, e.srv.WriteFile(space, "small.bin", small))
	sb, sf := hashes(small)
	r = e.call("POST", filePath("x.bin"), "multipart", map[string]string{"beginningHash": sb, "fullHash": sf, "size": "5"})
	assert.Equal(t, 201, r.status)
}

// ---- directories, HEAD, routes ----

func TestDirectories(t *testing.T) {
	e := start(t, emulator.Config{})
	r := e.call("POST", filePath("nodir/a.bin"), "multipart", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "DirectoryNotFound", r.code(t))

	dir := "/api/v1/directory/" + lib + "/" + space + "/" + url.PathEscape("x/y")
	r = e.call("PUT", dir, "", nil)
	assert.Equal(t, 201, r.status, "%s", r.body)
	r = e.call("PUT", dir, "", nil)
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "SameNameDirectoryOrFileExists", r.code(t))
	r = e.call("PUT", dir, "conflict_resolution_strategy=rename", nil)
	require.Equal(t, 201, r.status)
	var named struct {
		Path []string `json:"path"`
	}
	r.decode(t, &named)
	assert.Equal(t, []string{"x", "y (1)"}, named.Path)
	assert.Equal(t, 3, e.srv.Count("directory.create"))
	noDirGrant := newToken(t, e, "grant=confirm_upload")
	r = e.callTok(noDirGrant, "PUT", dir+"z", "", nil)
	assert.Equal(t, "NoPermission", r.code(t))

	r = e.uploadFile("x/y/f.txt", "", []byte("hello"))
	require.Equal(t, 200, r.status, "%s", r.body)

	r = e.call("HEAD", filePath("x/y/f.txt"), "", nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, "file", r.header.Get("x-smh-type"))
	assert.Equal(t, "5", r.header.Get("x-smh-size"))
	assert.Equal(t, strconv.FormatUint(crc64.Checksum([]byte("hello"), ecma), 10), r.header.Get("x-smh-crc64"))
	assert.NotEmpty(t, r.header.Get("x-smh-etag"))
	assert.NotEmpty(t, r.header.Get("x-smh-creation-time"))
	assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("x-smh-content-type"))
	r = e.call("HEAD", filePath("x"), "", nil)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "dir", r.header.Get("x-smh-type"))
	r = e.call("HEAD", filePath("x/missing"), "", nil)
	assert.Equal(t, 404, r.status)

	r = e.call("GET", "/api/v1/nothing", "", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "RouteNotFound", r.code(t))
}

// ---- CORS ----

func TestCORS(t *testing.T) {
	e := start(t, emulator.Config{})
	const origin = "http://localhost:8080"
	for _, base := range []string{e.srv.Endpoint, e.srv.COSEndpoint} {
		req, err := http.NewRequest("OPTIONS", base+"/some/key?partNumber=1&uploadId=x", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-cos-security-token,x-cos-traffic-limit")
		r := e.do(req)
		assert.Contains(t, []int{200, 204}, r.status)
		assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
		for _, m := range []string{"PUT", "GET", "POST", "DELETE", "HEAD"} {
			assert.Contains(t, r.header.Get("Access-Control-Allow-Methods"), m)
		}
		for _, h := range []string{"authorization", "content-type", "x-cos-security-token", "x-cos-traffic-limit"} {
			assert.Contains(t, strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), h)
		}
		assert.NotEmpty(t, r.header.Get("Access-Control-Max-Age"))
	}

	info := e.begin("cors.bin", "", nil)
	req := e.putPartReq(info, 1, []byte("x"))
	req.Header.Set("Origin", origin)
	r := e.do(req)
	require.Equal(t, 200, r.status)
	assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
	expose := r.header.Get("Access-Control-Expose-Headers")
	for _, h := range []string{"ETag", "x-cos-hash-crc64ecma", "x-cos-request-id", "Date", "Retry-After"} {
		assert.Contains(t, expose, h)
	}

	e.srv.SetExposeHeaders(false)
	r = e.do(e.putPartReq(info, 1, []byte("x")))
	require.Equal(t, 200, r.status)
	assert.Empty(t, r.header.Get("Access-Control-Expose-Headers"))
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	r = e.call("GET", filePath(info.ConfirmKey), "upload", nil)
	assert.Contains(t, r.header.Get("Access-Control-Expose-Headers"), "x-smh-request-id", "the API host keeps its rule")
}

// ---- fault knobs ----

func TestFaults(t *testing.T) {
	e := start(t, emulator.Config{})
	data := randomBytes(mib, 6)

	t.Run("FailParts", func(t *testing.T) {
		info := e.begin("fp.bin", "", nil)
		e.srv.ResetCounts()
		e.srv.FailParts(2, 503, "ServiceUnavailable", 2500*time.Millisecond)
		for range 2 {
			r := e.putPart(info, 1, data)
			assert.Equal(t, 503, r.status)
			assert.Equal(t, "ServiceUnavailable", r.cosErr(t).Code)
			assert.Equal(t, "3", r.header.Get("Retry-After"))
		}
		e.mustPut(info, 1, data)
		assert.Equal(t, 3, e.srv.Count("part"))
	})
	t.Run("FailAPI", func(t *testing.T) {
		info := e.begin("fa.bin", "", nil)
		e.mustPut(info, 1, data)
		e.srv.FailAPI("renew", 1, 429, "RateLimitExceeded", 2*time.Second)
		r := e.call("POST", filePath(info.ConfirmKey), "renew", nil)
		assert.Equal(t, 429, r.status)
		assert.Equal(t, "RateLimitExceeded", r.code(t))
		assert.Equal(t, "2", r.header.Get("Retry-After"))
		assert.Equal(t, 200, e.call("POST", filePath(info.ConfirmKey), "renew", nil).status)

		e.srv.FailAPI("confirm", 1, 500, "InternalServerError", 0)
		r = e.confirm(info.ConfirmKey, "", crcBody(data))
		assert.Equal(t, 500, r.status)
		assert.Equal(t, "InternalServerError", r.code(t))
		assert.Empty(t, r.header.Get("Retry-After"))
		r = e.confirm(info.ConfirmKey, "", crcBody(data))
		assert.Equal(t, 200, r.status, "%s", r.body)
	})
	t.Run("ResetParts", func(t *testing.T) {
		info := e.begin("rp.bin", "", nil)
		e.srv.ResetParts(1)
		_, err := e.hc.Do(e.putPartReq(info, 1, data))
		require.Error(t, err)
		assert.Empty(t, e.srv.UploadedParts(info.ConfirmKey))
		e.mustPut(info, 1, data)
	})
	t.Run("StallParts", func(t *testing.T) {
		info := e.begin("sp.bin", "", nil)
		e.srv.StallParts(1)
		arrived := make(chan struct{})
		e.srv.OnPart(func(emulator.PartInfo) { close(arrived) })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			res, err := e.hc.Do(e.putPartReq(info, 1, data).WithContext(ctx))
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		<-arrived
		e.srv.OnPart(nil)
		cancel() // the stalled request ends only with its context
		require.Error(t, <-done)
		assert.Empty(t, e.srv.UploadedParts(info.ConfirmKey))
		// Twice, in full runs on a loaded machine, the next PUT stalled instead (its handler held in the
		// stall, the first request gone without one) and the test hung for 10 minutes; the cause is not
		// found. Clearing the knob keeps a recurrence from hanging the run.
		e.srv.StallParts(0)
		e.mustPut(info, 1, data)
	})
	t.Run("Latency", func(t *testing.T) {
		e.srv.SetLatency(50 * time.Millisecond)
		t0 := time.Now()
		e.call("GET", filePath("nokey"), "upload", nil)
		assert.GreaterOrEqual(t, time.Since(t0), 50*time.Millisecond)
		e.srv.SetLatency(0)
	})
	t.Run("Skew", func(t *testing.T) {
		e.srv.SetSkew(90 * time.Second)
		defer e.srv.SetSkew(0)
		r := e.call("POST", filePath("skew.bin"), "multipart", nil)
		require.Equal(t, 201, r.status)
		serverNow := e.clock.Now().Add(90 * time.Second)
		assert.Equal(t, serverNow.Format(http.TimeFormat), r.header.Get("Date"))
		var info uploadInfo
		r.decode(t, &info)
		assert.Equal(t, millis(serverNow.Add(time.Hour)), info.Expiration)
		e.clock.Advance(time.Hour - time.Second)
		e.mustPut(info, 1, data)
		e.clock.Advance(time.Second)
		// By the client's own (unskewed) clock, expiration is still 90 s away; the server disagrees.
		assert.Equal(t, 90*time.Second, mustParse(t, info.Expiration).Sub(e.clock.Now()))
		r = e.putPart(info, 1, data)
		assert.Equal(t, 403, r.status, "expired by the server's clock")
		assert.Equal(t, e.clock.Now().Add(90*time.Second).Format(time.RFC3339), r.cosErr(t).ServerTime)
	})
	t.Run("CorruptParts", func(t *testing.T) {
		info := e.begin("cp.bin", "", nil)
		e.srv.CorruptParts(1)
		r := e.putPart(info, 1, data)
		require.Equal(t, 200, r.status)
		assert.NotEqual(t, quotedMD5(data), r.header.Get("ETag"))
		assert.NotEqual(t, strconv.FormatUint(crc64.Checksum(data, ecma), 10), r.header.Get("x-cos-hash-crc64ecma"))
		r = e.confirm(info.ConfirmKey, "", crcBody(data))
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "BadCrc64", r.code(t))
		r = e.putPart(info, 1, data)
		assert.Equal(t, quotedMD5(data), r.header.Get("ETag"), "only the next n parts are corrupted")
		assert.Equal(t, 200, e.confirm(info.ConfirmKey, "", crcBody(data)).status)
	})
	t.Run("OnPartBarrier", func(t *testing.T) {
		info := e.begin("barrier.bin", "", nil)
		e.srv.ResetCounts()
		var arrived sync.WaitGroup
		arrived.Add(4)
		release := make(chan struct{})
		var mu sync.Mutex
		var seen []emulator.PartInfo
		e.srv.OnPart(func(p emulator.PartInfo) {
			mu.Lock()
			seen = append(seen, p)
			mu.Unlock()
			arrived.Done()
			<-release
		})
		statuses := make([]int, 4)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				res, err := e.hc.Do(e.putPartReq(info, i+1, data))
				if err != nil {
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				statuses[i] = res.StatusCode
			})
		}
		arrived.Wait()
		e.srv.ExpireSignatures()
		e.srv.OnPart(nil)
		close(release)
		wg.Wait()
		assert.Equal(t, []int{403, 403, 403, 403}, statuses)
		assert.Equal(t, 4, e.srv.Count("part.expired"))
		require.Len(t, seen, 4)
		for _, p := range seen {
			assert.Equal(t, info.UploadID, p.UploadID)
			assert.Equal(t, info.ConfirmKey, p.ConfirmKey)
		}
		r := e.call("POST", filePath(info.ConfirmKey), "renew", nil)
		require.Equal(t, 200, r.status)
		r.decode(t, &info)
		for n := 1; n <= 4; n++ {
			e.mustPut(info, n, data)
		}
	})
}

func TestCloseReleasesStalledParts(t *testing.T) {
	e := start(t, emulator.Config{})
	info := e.begin("close.bin", "", nil)
	e.srv.StallParts(1)
	arrived := make(chan struct{})
	e.srv.OnPart(func(emulator.PartInfo) { close(arrived) })
	done := make(chan error, 1)
	go func() {
		res, err := e.hc.Do(e.putPartReq(info, 1, []byte("stuck")))
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	<-arrived
	require.NoError(t, e.srv.Close())
	assert.Error(t, <-done)
}

// ---- Dir mode ----

func TestDirMode(t *testing.T) {
	dir := t.TempDir()
	e := start(t, emulator.Config{Dir: dir})
	require.NoError(t, e.srv.CreateDirectory(space, "dir"))
	data := randomBytes(mib+777, 7)

	info := e.begin("dir/a.bin", "", nil)
	e.mustPut(info, 2, data[mib:])
	e.mustPut(info, 1, data[:mib])
	onDisk, err := os.ReadFile(filepath.Join(dir, "uploads", info.UploadID, "1"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data[:mib], onDisk))
	r := e.confirm(info.ConfirmKey, "", crcBody(data))
	require.Equal(t, 200, r.status, "%s", r.body)

	onDisk, err = os.ReadFile(filepath.Join(dir, "files", lib, space, "dir", "a.bin"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, onDisk))
	_, err = os.Stat(filepath.Join(dir, "uploads", info.UploadID))
	assert.True(t, os.IsNotExist(err), "parts are removed after confirm")
	got, err := e.srv.ReadFile(space, "dir/a.bin")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))

	// Cancel removes the parts from disk.
	info = e.begin("dir/b.bin", "", nil)
	e.mustPut(info, 1, data[:10])
	require.Equal(t, 204, e.call("DELETE", filePath(info.ConfirmKey), "upload", nil).status)
	_, err = os.Stat(filepath.Join(dir, "uploads", info.UploadID))
	assert.True(t, os.IsNotExist(err))

	// Instant upload copies the file on disk.
	begin, full := hashes(data)
	r = e.call("PUT", filePath("copy.bin"), "", map[string]string{"beginningHash": begin, "fullHash": full, "size": strconv.Itoa(len(data))})
	require.Equal(t, 200, r.status, "%s", r.body)
	onDisk, err = os.ReadFile(filepath.Join(dir, "files", lib, space, "copy.bin"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, onDisk))

	// A simple upload stores its object on disk until confirm.
	r = e.call("PUT", filePath("dir/s.txt"), "", nil)
	require.Equal(t, 201, r.status)
	var simple uploadInfo
	r.decode(t, &simple)
	e.mustPut(simple, 0, []byte("simple"))
	require.Equal(t, 200, e.confirm(simple.ConfirmKey, "", crcBody([]byte("simple"))).status)
	onDisk, err = os.ReadFile(filepath.Join(dir, "files", lib, space, "dir", "s.txt"))
	require.NoError(t, err)
	assert.Equal(t, "simple", string(onDisk))

	// A new emulator on the same directory serves the confirmed files.
	again, err := emulator.New(emulator.Config{Dir: dir})
	require.NoError(t, err)
	got, err = again.ReadFile(space, "dir/a.bin")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	fi, err := again.FileInfo(space, "dir/a.bin")
	require.NoError(t, err)
	assert.Equal(t, crc64.Checksum(data, ecma), fi.CRC64)
	assert.Equal(t, full, fi.FullHash)
}

func TestConcurrentParts(t *testing.T) {
	inBothModes(t, func(t *testing.T, cfg emulator.Config) {
		e := start(t, cfg)
		data := randomBytes(8*mib+5, 8)
		info := e.begin("many.bin", "", nil)
		var wg sync.WaitGroup
		for n := 1; n <= 9; n++ {
			for range 2 { // each part twice, concurrently: the last write wins, both are identical
				wg.Go(func() {
					res, err := e.hc.Do(e.putPartReq(info, n, data[(n-1)*mib:min(n*mib, len(data))]))
					if assert.NoError(t, err) {
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						assert.Equal(t, 200, res.StatusCode)
					}
				})
			}
		}
		wg.Wait()
		r := e.confirm(info.ConfirmKey, "", crcBody(data))
		require.Equal(t, 200, r.status, "%s", r.body)
		got, err := e.srv.ReadFile(space, "many.bin")
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got))
	})
}

func TestMisc(t *testing.T) {
	e := start(t, emulator.Config{})

	// Deleting a user's tokens needs the secret and leaves other users' tokens alone.
	u1 := newToken(t, e, "grant=admin&user_id=u1")
	u2 := newToken(t, e, "grant=admin&user_id=u2")
	r := e.callTok("-", "DELETE", "/api/v1/token/"+lib, "library_secret=smhsecret&user_id=u1,u3", nil)
	assert.Equal(t, 204, r.status)
	assert.Equal(t, "InvalidAccessToken", e.callTok(u1, "GET", filePath("k"), "upload", nil).code(t))
	assert.Equal(t, "UploadNotFound", e.callTok(u2, "GET", filePath("k"), "upload", nil).code(t))

	// x-smh-meta-* headers given at begin come back in the file info and from HEAD.
	req, err := http.NewRequest("POST", e.srv.Endpoint+filePath("meta.bin")+"?multipart&access_token="+tok, nil)
	require.NoError(t, err)
	req.Header.Set("x-smh-meta-owner", "alice")
	r = e.do(req)
	require.Equal(t, 201, r.status)
	var info uploadInfo
	r.decode(t, &info)
	e.mustPut(info, 1, []byte("m"))
	r = e.confirm(info.ConfirmKey, "", nil)
	require.Equal(t, 200, r.status)
	var withMeta struct {
		MetaData map[string]string `json:"metaData"`
	}
	r.decode(t, &withMeta)
	assert.Equal(t, map[string]string{"x-smh-meta-owner": "alice"}, withMeta.MetaData)
	assert.Equal(t, "alice", e.call("HEAD", filePath("meta.bin"), "", nil).header.Get("x-smh-meta-owner"))

	// Paths and spaces are validated.
	r = e.call("POST", "/api/v1/file/"+lib+"/"+space+"/a/../b", "multipart", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "IllegalFileName", r.code(t))
	r = e.call("POST", "/api/v1/file/"+lib+"/"+space+"/", "multipart", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "EmptyPath", r.code(t))
	r = e.call("POST", "/api/v1/file/"+lib+"//a.bin", "multipart", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "EmptySpaceId", r.code(t))

	// Other spaces exist on first use and are separate trees.
	r = e.call("POST", "/api/v1/file/"+lib+"/space2/"+url.PathEscape("a.bin"), "multipart", nil)
	require.Equal(t, 201, r.status)
	r.decode(t, &info)
	e.mustPut(info, 1, []byte("in space2"))
	require.Equal(t, 200, e.call("POST", "/api/v1/file/"+lib+"/space2/"+info.ConfirmKey, "confirm", nil).status)
	got, err := e.srv.ReadFile("space2", "a.bin")
	require.NoError(t, err)
	assert.Equal(t, "in space2", string(got))
	_, err = e.srv.ReadFile(space, "a.bin")
	assert.ErrorIs(t, err, os.ErrNotExist)

	e.srv.SetCOSDomain("cos.example.com:8443")
	assert.Equal(t, "cos.example.com:8443", e.begin("d.bin", "", nil).Domain)
}
