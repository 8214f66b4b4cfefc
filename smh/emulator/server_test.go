package emulator_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc64"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh/emulator"
)

// encodeURIComponent encodes like JavaScript's function of that name ("/" as %2F, "+" as %2B, " " as %20).
func encodeURIComponent(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// TestJSSDKWire replays what Tencent's smh-js-sdk sends (smh-api.md §7.1a): "=1" flags, paths through
// encodeURIComponent, JSON bodies with Content-Type application/json, size as a string, crc64 as a string.
func TestJSSDKWire(t *testing.T) {
	e := start(t, emulator.Config{})
	const dir = "sdk dir/a+b"
	const name = dir + "/file (1) +x.bin"
	apiFile := func(p string) string { return "/api/v1/file/" + lib + "/" + space + "/" + encodeURIComponent(p) }

	// Begin into a missing folder: 404 DirectoryNotFound; the SDK's autoCreateDir creates it and retries.
	r := e.call("POST", apiFile(name), "multipart=1", map[string]string{})
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "DirectoryNotFound", r.code(t))
	r = e.call("PUT", "/api/v1/directory/"+lib+"/"+space+"/"+encodeURIComponent(dir), "", nil)
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Empty(t, r.body, "no 201 body without rename or with_inode")
	r = e.call("PUT", "/api/v1/directory/"+lib+"/"+space+"/"+encodeURIComponent(dir), "", nil)
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "SameNameDirectoryOrFileExists", r.code(t))

	// A file of 1 MiB or more begins with beginningHash and size as a string; no candidate: 201.
	data := randomBytes(mib+77, 21)
	begin, _ := hashes(data)
	r = e.call("POST", apiFile(name), "multipart=1", map[string]string{"beginningHash": begin, "size": strconv.Itoa(len(data))})
	require.Equal(t, 201, r.status, "%s", r.body)
	var info uploadInfo
	r.decode(t, &info)
	assert.NotContains(t, info.Domain, "://", "domain carries no scheme: the SDK prepends its protocol")
	for n, off := 1, 0; off < len(data); n, off = n+1, off+mib {
		e.mustPut(info, n, data[off:min(off+mib, len(data))])
	}
	r = e.call("POST", apiFile(info.ConfirmKey), "renew=1", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	r = e.call("GET", apiFile(info.ConfirmKey), "upload=1", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	r = e.call("POST", apiFile(info.ConfirmKey), "confirm=1",
		map[string]string{"crc64": strconv.FormatUint(crc64.Checksum(data, ecma), 10)})
	require.Equal(t, 200, r.status, "%s", r.body)
	var fi fileInfo
	r.decode(t, &fi)
	assert.Equal(t, []string{"sdk dir", "a+b", "file (1) +x.bin"}, fi.Path)

	r = e.call("HEAD", apiFile(name), "", nil)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, strconv.Itoa(len(data)), r.header.Get("x-smh-size"))
	dl := e.info(name, "purpose=download&content_disposition=attachment")
	r = e.get(dl.CosURL, "Range", "bytes=0-9")
	require.Equal(t, 206, r.status)
	assert.Equal(t, data[:10], r.body)
	assert.Equal(t, "attachment; filename*=UTF-8''file%20%281%29%20%2Bx.bin", r.header.Get("Content-Disposition"))

	// Small files send {}; the second begin of the same name is renamed; cancel with upload=1.
	r = e.call("POST", apiFile(name), "multipart=1", map[string]string{})
	require.Equal(t, 201, r.status)
	r.decode(t, &info)
	r = e.call("DELETE", apiFile(info.ConfirmKey), "upload=1", nil)
	assert.Equal(t, 204, r.status)

	// The same content again: 202, then fullHash: 200 with the file info, no COS traffic.
	_, full := hashes(data)
	e.srv.ResetCounts()
	r = e.call("POST", apiFile(dir+"/copy.bin"), "multipart=1", map[string]string{"beginningHash": begin, "size": strconv.Itoa(len(data))})
	require.Equal(t, 202, r.status, "%s", r.body)
	r = e.call("POST", apiFile(dir+"/copy.bin"), "multipart=1",
		map[string]string{"beginningHash": begin, "fullHash": full, "size": strconv.Itoa(len(data))})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Zero(t, e.srv.Count("part"))

	// Deletes by encodeURIComponent paths.
	assert.Equal(t, 204, e.call("DELETE", apiFile(name), "", nil).status)
	assert.Equal(t, 204, e.call("DELETE", "/api/v1/directory/"+lib+"/"+space+"/"+encodeURIComponent("sdk dir"), "", nil).status)
	assert.Empty(t, e.list("", "by-marker=1").Contents)
}

func TestTLS(t *testing.T) {
	srv, err := emulator.Start(emulator.Config{TLS: true, AccessToken: tok})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	require.True(t, strings.HasPrefix(srv.Endpoint, "https://127.0.0.1:"), srv.Endpoint)
	require.True(t, strings.HasPrefix(srv.COSEndpoint, "https://127.0.0.1:"), srv.COSEndpoint)
	require.NotNil(t, srv.Certificate)
	assert.NoError(t, srv.Certificate.VerifyHostname("127.0.0.1"))
	assert.NoError(t, srv.Certificate.VerifyHostname("localhost"))
	assert.NoError(t, srv.Certificate.VerifyHostname("::1"))
	block, _ := pem.Decode(srv.CertificatePEM())
	require.NotNil(t, block)
	assert.Equal(t, srv.Certificate.Raw, block.Bytes)

	// A client that does not trust the certificate is refused.
	plain := &http.Client{Transport: &http.Transport{}}
	_, err = plain.Get(srv.Endpoint + "/api/v1/token")
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown)
	plain.CloseIdleConnections()

	// A whole upload and download over HTTPS with the server's client, as an SDK with https: would.
	e := &env{t: t, srv: srv, hc: srv.Client()}
	require.NoError(t, srv.CreateDirectory(space, "secure"))
	data := randomBytes(100<<10, 31)
	info := e.begin("secure/s.bin", "", nil)
	for n, off := 1, 0; off < len(data); n, off = n+1, off+mib {
		req, err := http.NewRequest("PUT", fmt.Sprintf("https://%s%s?partNumber=%d&uploadId=%s", info.Domain, info.Path, n, info.UploadID),
			bytes.NewReader(data[off:min(off+mib, len(data))]))
		require.NoError(t, err)
		for k, v := range info.Headers {
			req.Header.Set(k, v)
		}
		r := e.do(req)
		require.Equal(t, 200, r.status, "%s", r.body)
	}
	r := e.confirm(info.ConfirmKey, "", crcBody(data))
	require.Equal(t, 200, r.status, "%s", r.body)
	fi := e.info("secure/s.bin", "")
	assert.True(t, strings.HasPrefix(fi.CosURL, srv.COSEndpoint+"/"), fi.CosURL)
	r = e.get(fi.CosURL)
	require.Equal(t, 200, r.status)
	assert.True(t, bytes.Equal(data, r.body))
}

// NewCertificate's certificate serves New's handlers on a listener of the caller's own over HTTPS: a
// client that trusts its Leaf negotiates HTTP/2 by ALPN and gets the API's answer.
func TestNewCertificate(t *testing.T) {
	cert, err := emulator.NewCertificate("smh.test")
	require.NoError(t, err)
	require.NotNil(t, cert.Leaf)
	for _, h := range []string{"127.0.0.1", "::1", "localhost", "smh.test"} {
		assert.NoError(t, cert.Leaf.VerifyHostname(h), h)
	}
	assert.Error(t, cert.Leaf.VerifyHostname("example.com"))

	e, err := emulator.New(emulator.Config{AccessToken: tok, TLS: true})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: e.API(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go hs.ServeTLS(ln, "", "")
	t.Cleanup(func() { hs.Close() })
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	require.NoError(t, e.CreateDirectory(space, "over-h2"))
	resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/api/v1/directory/" + e.LibraryID() + "/" + space +
		"/over-h2?access_token=" + tok)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "HTTP/2.0", resp.Proto)
}

func TestAddresses(t *testing.T) {
	// A fixed COS port: take a free one, release it, ask for it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cosAddr := ln.Addr().String()
	require.NoError(t, ln.Close())

	srv, err := emulator.Start(emulator.Config{Addr: ":0", COSAddr: cosAddr, AccessToken: tok})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	assert.Equal(t, "http://"+cosAddr, srv.COSEndpoint)
	apiURL, err := url.Parse(srv.Endpoint)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", apiURL.Hostname(), "all interfaces are advertised as 127.0.0.1")
	assert.NotEqual(t, apiURL.Port(), "0")

	e := &env{t: t, srv: srv, hc: srv.Client()}
	assert.Equal(t, cosAddr, e.begin("a.bin", "", nil).Domain)

	_, err = emulator.Start(emulator.Config{Addr: "no-port"})
	assert.Error(t, err)
	_, err = emulator.Start(emulator.Config{Addr: "127.0.0.1:0", COSAddr: apiURL.Host})
	assert.Error(t, err, "the COS port is taken by the first server")
}

func TestShutdown(t *testing.T) {
	t.Run("waits for requests in flight", func(t *testing.T) {
		e := start(t, emulator.Config{})
		info := e.begin("inflight.bin", "", nil)
		arrived, release := make(chan struct{}), make(chan struct{})
		e.srv.OnPart(func(emulator.PartInfo) { close(arrived); <-release })
		got := make(chan resp, 1)
		go func() {
			res, err := e.hc.Do(e.putPartReq(info, 1, []byte("in flight")))
			if err != nil {
				got <- resp{}
				return
			}
			defer res.Body.Close()
			got <- resp{status: res.StatusCode}
		}()
		<-arrived
		done := make(chan error, 1)
		go func() { done <- e.srv.Shutdown(context.Background()) }()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
		default:
		}
		close(release)
		assert.Equal(t, 200, (<-got).status, "the request in flight completes")
		require.NoError(t, <-done)
		assert.Equal(t, []int{1}, e.srv.UploadedParts(info.ConfirmKey))
		_, err := net.Dial("tcp", strings.TrimPrefix(e.srv.Endpoint, "http://"))
		assert.Error(t, err, "the listener is closed")
	})
	t.Run("stalled parts end at once", func(t *testing.T) {
		e := start(t, emulator.Config{})
		info := e.begin("stall.bin", "", nil)
		e.srv.StallParts(1)
		arrived := make(chan struct{})
		e.srv.OnPart(func(emulator.PartInfo) { close(arrived) })
		failed := make(chan error, 1)
		go func() {
			res, err := e.hc.Do(e.putPartReq(info, 1, []byte("stuck")))
			if err == nil {
				res.Body.Close()
			}
			failed <- err
		}()
		<-arrived
		require.NoError(t, e.srv.Shutdown(context.Background()))
		assert.Error(t, <-failed)
	})
	t.Run("a cancelled context closes", func(t *testing.T) {
		e := start(t, emulator.Config{})
		info := e.begin("blocked.bin", "", nil)
		arrived, release := make(chan struct{}), make(chan struct{})
		defer close(release)
		e.srv.OnPart(func(emulator.PartInfo) { close(arrived); <-release })
		go func() {
			if res, err := e.hc.Do(e.putPartReq(info, 1, []byte("x"))); err == nil {
				res.Body.Close()
			}
		}()
		<-arrived
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, e.srv.Shutdown(ctx), context.Canceled)
	})
}

func TestRequestLog(t *testing.T) {
	var buf safeBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	e := start(t, emulator.Config{Log: log, LibrarySecret: "topsecret"})
	created := newTokenWith(t, e, "topsecret", "grant=admin")
	e.call("GET", dirPath(""), "", nil)
	e.callTok("-", "POST", "/api/v1/token/"+lib+"/"+created, "", nil)
	info := e.begin("logged.bin", "", nil)
	e.mustPut(info, 1, []byte("x"))

	out := buf.String()
	for _, secret := range []string{tok, created, "topsecret", info.Headers["x-cos-security-token"]} {
		assert.NotContains(t, out, secret)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		lines = append(lines, m)
	}
	require.Len(t, lines, 5)
	assert.Equal(t, "api", lines[1]["host"])
	assert.Equal(t, "GET", lines[1]["method"])
	assert.Equal(t, float64(200), lines[1]["status"])
	assert.Contains(t, lines[1]["url"], "access_token=REDACTED")
	assert.Equal(t, "/api/v1/token/"+lib+"/REDACTED", lines[2]["url"])
	assert.Equal(t, "cos", lines[4]["host"])
	assert.Equal(t, "PUT", lines[4]["method"])
}

func newTokenWith(t *testing.T, e *env, secret, query string) string {
	t.Helper()
	r := e.callTok("-", "GET", "/api/v1/token", "library_id="+lib+"&library_secret="+secret+"&"+query, nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var v struct {
		AccessToken string `json:"accessToken"`
	}
	r.decode(t, &v)
	return v.AccessToken
}

// safeBuffer is a bytes.Buffer for a log written from server goroutines and read by the test.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
