//go:build !js

package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/web"
	"github.com/smhupload/smh-upload/web/page"
)

// TestWasmServedPrecompressed: the demo sends smh.wasm as application/wasm,
// in the precompressed body that the request's Accept-Encoding allows
// (Brotli first), and every body decodes to the very bytes of smh.wasm.
func TestWasmServedPrecompressed(t *testing.T) {
	needModule(t, "smh.wasm", "smh.wasm.br", "smh.wasm.gz")
	raw, err := fs.ReadFile(page.FS(), "smh.wasm")
	require.NoError(t, err)
	br, err := fs.ReadFile(page.FS(), "smh.wasm.br")
	require.NoError(t, err)
	require.Less(t, len(br), len(raw))

	wire := staticServer(t)
	get := func(t *testing.T, method string, header ...string) (*http.Response, []byte) {
		t.Helper()
		return wire(t, method, "/smh.wasm", header...)
	}
	decode := func(t *testing.T, coding string, body []byte) []byte {
		t.Helper()
		var r io.Reader = bytes.NewReader(body)
		switch coding {
		case "br":
			r = brotli.NewReader(r)
		case "gzip":
			zr, err := gzip.NewReader(r)
			require.NoError(t, err)
			r = zr
		}
		out, err := io.ReadAll(r)
		require.NoError(t, err)
		return out
	}

	for _, tc := range []struct {
		accept, coding string // coding "": the raw file
	}{
		{"br", "br"},
		{"gzip", "gzip"},
		{"", ""},
		{"gzip, deflate, br, zstd", "br"}, // what Chromium sends
		{"br;q=0, gzip", "gzip"},
		{"gzip;q=0.8, br;q=0.5", "gzip"},
		{"*", "br"},
		{"identity", ""},
		{"*;q=0", ""},
		{"gzip;q=nonsense", ""},
	} {
		t.Run("accept="+tc.accept, func(t *testing.T) {
			var header []string
			if tc.accept != "" {
				header = []string{"Accept-Encoding", tc.accept}
			}
			resp, body := get(t, http.MethodGet, header...)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "application/wasm", resp.Header.Get("Content-Type"))
			assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
			assert.Equal(t, tc.coding, resp.Header.Get("Content-Encoding"))
			assert.Equal(t, int64(len(body)), resp.ContentLength)
			assert.True(t, bytes.Equal(raw, decode(t, tc.coding, body)), "the decoded body is smh.wasm")
		})
	}

	t.Run("HEAD", func(t *testing.T) {
		resp, body := get(t, http.MethodHead, "Accept-Encoding", "br")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/wasm", resp.Header.Get("Content-Type"))
		assert.Equal(t, "br", resp.Header.Get("Content-Encoding"))
		assert.Equal(t, int64(len(br)), resp.ContentLength)
		assert.Empty(t, body)
	})

	t.Run("Range gets the raw bytes", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, "Accept-Encoding", "br", "Range", "bytes=0-7")
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		assert.Equal(t, "application/wasm", resp.Header.Get("Content-Type"))
		assert.Empty(t, resp.Header.Get("Content-Encoding"))
		assert.Equal(t, raw[:8], body)
	})
}

// TestStaticRevalidates: every file goes out no-cache with a strong ETag, and
// a request that names it gets 304 with no body, so a returning visitor's
// browser keeps its cached smh.wasm (and V8's code cache for it). The
// encoded bodies of smh.wasm are different representations with tags of
// their own.
func TestStaticRevalidates(t *testing.T) {
	needModule(t, "smh.wasm", "smh.wasm.br", "smh.wasm.gz", "smh-upload.js")
	wire := staticServer(t)
	get := func(t *testing.T, path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		return wire(t, http.MethodGet, path, header...)
	}
	tags := map[string]bool{}
	for _, tc := range []struct{ path, accept string }{
		{"/smh.wasm", "br"}, {"/smh.wasm", "gzip"}, {"/smh.wasm", ""}, {"/smh-upload.js", "br"}, {"/", "br"},
	} {
		t.Run(tc.path+" "+tc.accept, func(t *testing.T) {
			resp, body := get(t, tc.path, "Accept-Encoding", tc.accept)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NotEmpty(t, body)
			tag := resp.Header.Get("ETag")
			require.Regexp(t, `^"[0-9a-f]+"$`, tag, "a strong ETag")
			assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
			assert.False(t, tags[tag], "one tag per representation")
			tags[tag] = true

			resp, body = get(t, tc.path, "Accept-Encoding", tc.accept, "If-None-Match", `"other", `+tag)
			assert.Equal(t, http.StatusNotModified, resp.StatusCode)
			assert.Empty(t, body)
			assert.Equal(t, tag, resp.Header.Get("ETag"))

			resp, body = get(t, tc.path, "Accept-Encoding", tc.accept, "If-None-Match", `"other"`)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.NotEmpty(t, body)
		})
	}
}

// staticServer serves the demo's page on 127.0.0.1 and returns a request
// function that sees the wire: its client neither adds Accept-Encoding nor
// decodes (DisableCompression). header is name, value, name, value, ….
func staticServer(t *testing.T) func(t *testing.T, method, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	h, err := web.New(web.Config{Assets: page.FS()})
	require.NoError(t, err)
	srv := httptest.NewServer(h) // 127.0.0.1, a port chosen now
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)
	return func(t *testing.T, method, path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}
}
