package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/nethttp"
	"github.com/smhupload/smh-upload/web"
	"github.com/smhupload/smh-upload/web/page"
)

func call(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out, rec.Body.String()
}

func emulatorDemo(t *testing.T) (http.Handler, *emulator.Emulator) {
	emu, err := emulator.New(emulator.Config{COSDomain: "127.0.0.1:9/cos"})
	require.NoError(t, err)
	h, err := web.New(web.Config{Emulator: emu, Assets: page.FS()})
	require.NoError(t, err)
	return h, emu
}

func TestBrokerIssuesUploadOnlyTokens(t *testing.T) {
	h, emu := emulatorDemo(t)
	status, cfg, _ := call(t, h, "GET", "/api/config", "")
	require.Equal(t, 200, status)
	assert.Equal(t, "emulator", cfg["mode"])
	assert.Equal(t, "http://example.com/smh", cfg["endpoint"])

	status, tok, _ := call(t, h, "POST", "/api/token", "")
	require.Equal(t, 200, status)
	token, _ := tok["accessToken"].(string)
	require.NotEmpty(t, token)
	assert.Equal(t, 1, emu.Count("token.create"))

	// The token uploads through the mounted emulator...
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := smh.NewClient(smh.ClientConfig{Endpoint: srv.URL + web.EmulatorAPIPrefix, LibraryID: emu.LibraryID(), AccessToken: token}, nethttp.New())
	require.NoError(t, err)
	_, err = c.BeginMultipart(context.Background(), smh.BeginOptions{Path: "a.bin", Size: 5})
	require.NoError(t, err)
	// ...and can do nothing else.
	status, _, _ = call(t, h, "DELETE", web.EmulatorAPIPrefix+"/api/v1/token/"+emu.LibraryID()+"?library_secret=x", "")
	assert.NotEqual(t, 204, status)

	for _, body := range []string{`{"grant":["admin"]}`, `{"grant":["begin_upload","delete_file"]}`} {
		status, out, _ := call(t, h, "POST", "/api/token", body)
		assert.Equal(t, 403, status, body)
		assert.Equal(t, "GrantNotAllowed", out["code"])
	}
	status, _, _ = call(t, h, "GET", "/api/token", "")
	assert.Equal(t, 405, status)
	status, _, _ = call(t, h, "POST", "/api/token", "{not json")
	assert.Equal(t, 400, status)
	assert.Equal(t, 1, emu.Count("token.create"), "refused requests reach no SMH")
}

func TestBrokerNeverLeaksTheSecret(t *testing.T) {
	const secret = "LIBRARY-SECRET-4f1c"
	real, err := emulator.Start(emulator.Config{LibrarySecret: secret}) // stands in for SMH
	require.NoError(t, err)
	defer real.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	h, err := web.New(web.Config{SMHEndpoint: real.Endpoint, LibraryID: real.LibraryID(), LibrarySecret: secret, Doer: nethttp.New(), Log: logger})
	require.NoError(t, err)
	status, cfg, body := call(t, h, "GET", "/api/config", "")
	require.Equal(t, 200, status)
	assert.Equal(t, "smh", cfg["mode"])
	assert.NotContains(t, body, secret)
	status, tok, body := call(t, h, "POST", "/api/token", "")
	require.Equal(t, 200, status)
	assert.NotContains(t, body, secret)
	assert.EqualValues(t, 1800, tok["expiresIn"])

	// A wrong secret: SMH refuses, the page gets a clear error, nobody sees the secret.
	const wrong = "WRONG-SECRET-77aa"
	h, err = web.New(web.Config{SMHEndpoint: real.Endpoint, LibraryID: real.LibraryID(), LibrarySecret: wrong, Doer: nethttp.New(), Log: logger})
	require.NoError(t, err)
	status, out, body := call(t, h, "POST", "/api/token", "")
	assert.Equal(t, 502, status)
	assert.Equal(t, "WrongLibraryIdOrSecret", out["code"])
	assert.Contains(t, out["message"], "library id and secret")
	assert.NotContains(t, body, wrong)

	// SMH unreachable.
	h, err = web.New(web.Config{SMHEndpoint: "http://127.0.0.1:1", LibraryID: "lib", LibrarySecret: wrong, Doer: nethttp.New(), Log: logger})
	require.NoError(t, err)
	status, _, body = call(t, h, "POST", "/api/token", "")
	assert.Equal(t, 502, status)
	assert.NotContains(t, body, wrong)

	assert.NotContains(t, logs.String(), secret)
	assert.NotContains(t, logs.String(), wrong)
	assert.NotContains(t, logs.String(), tok["accessToken"].(string))
	assert.Contains(t, logs.String(), "token issued")

	_, err = web.New(web.Config{SMHEndpoint: real.Endpoint, LibraryID: real.LibraryID()})
	assert.ErrorContains(t, err, "SMH_LIBRARY_SECRET")
}

func TestEmulatorControls(t *testing.T) {
	h, emu := emulatorDemo(t)
	status, _, _ := call(t, h, "POST", "/api/emulator", `{"ttlSeconds":5,"failParts":2}`)
	require.Equal(t, 200, status)
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, tok, _ := call(t, h, "POST", "/api/token", "")
	c, err := smh.NewClient(smh.ClientConfig{Endpoint: srv.URL + web.EmulatorAPIPrefix, LibraryID: emu.LibraryID(), AccessToken: tok["accessToken"].(string)}, nethttp.New())
	require.NoError(t, err)
	res, err := c.BeginMultipart(context.Background(), smh.BeginOptions{Path: "a.bin", Size: 5})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(5*time.Second), res.Upload.Expiration, 2*time.Second)

	status, _, _ = call(t, h, "POST", "/api/emulator", `{"failParts":-1}`)
	assert.Equal(t, 400, status)
}

func TestPageIsServed(t *testing.T) {
	h, _ := emulatorDemo(t)
	req := httptest.NewRequest("GET", "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	body, _ := io.ReadAll(rec.Body)
	assert.Contains(t, string(body), `<script type="module" src="app.js">`)
}

func TestUnconfigured(t *testing.T) {
	h, err := web.New(web.Config{Assets: page.FS()})
	require.NoError(t, err)
	status, out, _ := call(t, h, "POST", "/api/token", "")
	assert.Equal(t, 503, status)
	assert.Equal(t, "NotConfigured", out["code"])
	status, _, _ = call(t, h, "GET", "/", "")
	assert.Equal(t, 200, status)
}
