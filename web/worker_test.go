package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/nethttp"
)

// workerdConfig runs the Worker build (worker.mjs and friends from
// syumai/workers' workers-assets-gen, app.wasm from cmd/smh-worker) with
// its variables, allowed to reach loopback where the test's SMH listens.
const workerdConfig = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "runtime.mjs", esModule = embed "runtime.mjs"),
    (name = "wasm_exec.js", esModule = embed "wasm_exec.js"),
    (name = "app.wasm", wasm = embed "app.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "SMH_ENDPOINT", text = %[1]q),
    (name = "SMH_LIBRARY_ID", text = %[2]q),
    (name = "SMH_LIBRARY_SECRET", text = %[3]q),
  ],
  globalOutbound = "net",
);
`

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWorkerInWorkerd runs the Cloudflare Worker build in Cloudflare's own
// runtime against an SMH (the emulator) and asks it for a token, as a page
// would. make test builds it and sets the two variables.
func TestWorkerInWorkerd(t *testing.T) {
	bin, build := os.Getenv("SMH_WORKERD"), os.Getenv("SMH_WORKER_BUILD")
	if bin == "" || build == "" {
		if os.Getenv("SMH_REQUIRE_BROWSER") != "" {
			t.Fatal("needs SMH_WORKERD and SMH_WORKER_BUILD")
		}
		t.Skip("needs SMH_WORKERD and SMH_WORKER_BUILD: run make test")
	}
	build, err := filepath.Abs(build)
	require.NoError(t, err)
	const secret = "WORKER-LIB-SECRET-9d2e"
	smhSrv, err := emulator.Start(emulator.Config{LibrarySecret: secret})
	require.NoError(t, err)
	defer smhSrv.Close()

	// capnp embeds files relative to the config, so the config goes beside them.
	dir := t.TempDir()
	for _, f := range []string{"worker.mjs", "runtime.mjs", "wasm_exec.js", "app.wasm"} {
		b, err := os.ReadFile(filepath.Join(build, f))
		require.NoError(t, err, "the Worker build (make worker)")
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
	}
	cfg := filepath.Join(dir, "worker.capnp")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, workerdConfig, smhSrv.Endpoint, smhSrv.LibraryID(), secret), 0o600))
	// The socket is ours, handed over as fd 3: no port is guessed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lf, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", cfg, "--socket-fd", "http=3")
	cmd.ExtraFiles = []*os.File{lf}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	lf.Close()
	base := "http://" + ln.Addr().String()
	ln.Close()
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		assert.NotContains(t, out.String(), secret, "workerd output")
	}()

	get := func(method, path string) (int, []byte) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, "workerd output:\n%s", out.String())
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := get("GET", "/api/config")
	require.Equal(t, 200, status, "%s\nworkerd output:\n%s", body, out.String())
	var c map[string]string
	require.NoError(t, json.Unmarshal(body, &c))
	assert.Equal(t, "smh", c["mode"])
	assert.Equal(t, smhSrv.Endpoint, c["endpoint"])

	status, body = get("POST", "/api/token")
	require.Equal(t, 200, status, "%s\nworkerd output:\n%s", body, out.String())
	assert.NotContains(t, string(body), secret)
	var tok smh.Token
	require.NoError(t, json.Unmarshal(body, &tok))
	assert.Equal(t, 1, smhSrv.Count("token.create"), "the Worker asked SMH through fetch")

	// The token is a real upload token.
	client, err := smh.NewClient(smh.ClientConfig{Endpoint: smhSrv.Endpoint, LibraryID: smhSrv.LibraryID(), AccessToken: tok.AccessToken}, nethttp.New())
	require.NoError(t, err)
	_, err = smh.Upload(ctx, client, nethttp.New(), smh.NewReaderAtBody(strings.NewReader("hello worker"), 12), smh.Options{Path: "w.txt"})
	require.NoError(t, err)

	status, _ = get("GET", "/api/token")
	assert.Equal(t, 405, status)
}
