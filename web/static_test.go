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

	h, err := web.New(web.Config{Assets: page.FS()})
	require.NoError(t, err)
	srv := httptest.NewServer(h) // 127.0.0.1, a port chosen now
	t.Cleanup(srv.Close)
	// DisableCompression: the client neither adds Accept-Encoding nor decodes, so the test sees the wire.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)

	get := func(t *testing.T, method string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/smh.wasm", nil)
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
