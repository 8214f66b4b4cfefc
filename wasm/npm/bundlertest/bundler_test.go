//go:build !js

// Package bundlertest checks the npm package as a developer meets it: the
// packed tarball (make package) installed with npm into a fresh app, the app
// built for production by Vite, webpack and esbuild (pinned in this folder's
// package-lock.json, make test runs npm ci), served by the demo's server on
// its emulator and driven in headless Chromium; and a strict TypeScript
// consumer compiled against the published types.
package bundlertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"hash/crc64"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/internal/headless"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/web"
)

// need returns the packed tarball and Chromium, or skips (fails under make
// test, which sets SMH_REQUIRE_BROWSER) when either or the tools are missing.
func need(t *testing.T) (tarball, chromium string) {
	t.Helper()
	missing := ""
	tarball = os.Getenv("SMH_NPM_PACKAGE")
	if tarball == "" {
		found, _ := filepath.Glob("../../../smh-upload-*.tgz")
		if len(found) == 1 {
			tarball, _ = filepath.Abs(found[0])
		}
	}
	if _, err := os.Stat(tarball); tarball == "" || err != nil {
		missing = "the packed package, smh-upload-*.tgz (make package)"
	}
	if _, err := os.Stat(tool("vite")); err != nil && missing == "" {
		missing = "the pinned bundlers in wasm/npm/bundlertest/node_modules (npm ci)"
	}
	chromium = os.Getenv("SMH_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil && missing == "" {
		missing = "Chromium at " + chromium
	}
	if missing != "" {
		if os.Getenv("SMH_REQUIRE_BROWSER") != "" {
			t.Fatalf("needs %s", missing)
		}
		t.Skipf("needs %s: run make test", missing)
	}
	return tarball, chromium
}

// tool is the path of a pinned tool's command.
func tool(name string) string {
	p, _ := filepath.Abs(filepath.Join("node_modules", ".bin", name))
	return p
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// newApp is a fresh app folder holding the files of src (relative to this
// package) and the package, installed from the tarball as a developer
// would: npm install ./smh-upload-*.tgz.
func newApp(t *testing.T, tarball string, src ...string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private": true, "type": "module"}`), 0o644))
	for _, s := range src {
		b, err := os.ReadFile(s)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(s)), b, 0o644))
	}
	run(t, dir, "npm", "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball)
	return dir
}

// builds are the production builds, each of app/ with the package in
// node_modules, into dir/dist. None configures anything for the package
// but esbuild, which has no notion of new URL(…, import.meta.url) assets:
// it takes the Worker's entry, smh.wasm and wasm_exec.js as entry points of
// their own (the README's recipe).
var builds = []struct {
	name  string
	build func(t *testing.T, dir string)
}{
	{"Vite", func(t *testing.T, dir string) {
		run(t, dir, tool("vite"), "build", "--logLevel", "warn")
	}},
	{"webpack", func(t *testing.T, dir string) {
		script, err := filepath.Abs("webpack.mjs")
		require.NoError(t, err)
		run(t, dir, "node", script, ".", "dist")
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dist", "index.html"), staticPage(t, dir, `<script src="main.js"></script>`), 0o644))
	}},
	{"esbuild", func(t *testing.T, dir string) {
		p := "node_modules/smh-upload/"
		run(t, dir, tool("esbuild"), "main.js", p+"smh-upload-worker.js", p+"smh.wasm", p+"wasm_exec.js",
			"--bundle", "--format=esm", "--minify", "--outdir=dist", "--entry-names=[name]", "--loader:.wasm=copy", "--log-level=warning")
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dist", "index.html"), staticPage(t, dir, `<script type="module" src="main.js"></script>`), 0o644))
	}},
}

// staticPage is the app's index.html loading the bundle with script.
func staticPage(t *testing.T, dir, script string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
	return bytes.Replace(b, []byte(`<script type="module" src="./main.js"></script>`), []byte(script), 1)
}

// Each bundler's build uploads a six-part file, stored with the source's
// bytes and CRC-64, from its Worker (which the server saw fetched, and
// whose part uploads the page did not make); behind a Content-Security-Policy
// that forbids Workers, the same build uploads from the page.
func TestBundledApps(t *testing.T) {
	tarball, chromium := need(t)
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			dir := newApp(t, tarball, "app/index.html", "app/main.js")
			b.build(t, dir)
			dist := filepath.Join(dir, "dist")
			t.Run("Worker", func(t *testing.T) {
				s := serve(t, dist, chromium, "")
				data := s.upload("worker.bin", 5<<20+12345)
				s.assertStored("app/worker.bin", data)
				assert.Equal(t, int32(1), s.workerFetches.Load(), "the page started the module's Worker from its file")
				assert.Zero(t, s.pagePartRequests(), "the page sent no part: the Worker did")
			})
			t.Run("CSPFallback", func(t *testing.T) {
				s := serve(t, dist, chromium, "worker-src 'none'")
				data := s.upload("page.bin", 3<<20+7)
				s.assertStored("app/page.bin", data)
				assert.Zero(t, s.workerFetches.Load(), "no Worker")
				assert.Positive(t, s.pagePartRequests(), "the module ran in the page")
			})
		})
	}
}

type site struct {
	t             *testing.T
	emu           *emulator.Emulator
	ctx           context.Context
	workerFetches atomic.Int32
}

// serve serves dist with the demo's token broker and emulator on
// 127.0.0.1, with csp as the page's Content-Security-Policy if not empty,
// and opens it in headless Chromium with a fresh profile.
func serve(t *testing.T, dist, chromium, csp string) *site {
	emu, err := emulator.New(emulator.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	emu.SetCOSDomain(ln.Addr().String() + web.EmulatorCOSPrefix)
	h, err := web.New(web.Config{Emulator: emu, Assets: os.DirFS(dist)})
	require.NoError(t, err)
	s := &site{t: t, emu: emu}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Sec-Fetch-Dest") == "worker" {
			s.workerFetches.Add(1)
		}
		if csp != "" {
			w.Header().Set("Content-Security-Policy", csp)
		}
		h.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Close() })
	s.open(chromium, "http://"+ln.Addr().String()+"/")
	return s
}

// open opens url in headless Chromium with a fresh profile and waits for
// the app to be ready.
func (s *site) open(chromium, url string) {
	t := s.t
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), headless.Options(chromium, t.TempDir())...)
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(headless.Errorf(t.Logf)))
	ctx, cancelC := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	s.ctx = ctx
	s.do(chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`document.body.dataset.ready === "true" || document.body.dataset.error !== undefined`))
	require.Empty(t, s.eval(`document.body.dataset.error ?? ""`), "the app failed to load the module")
}

// The README's own steps: a Vite app with the package installed from the
// tarball and the README's two lines, built and served from one origin,
// uploading to the standalone emulator over plain HTTP (make emulator
// EMULATOR_TLS=) on others, cross-origin, with the ready line's token.
func TestReadmeViteApp(t *testing.T) {
	tarball, chromium := need(t)
	dir := newApp(t, tarball, "readme/index.html", "readme/main.js")
	run(t, dir, tool("vite"), "build", "--logLevel", "warn")
	emu, err := emulator.Start(emulator.Config{AccessToken: "readme-token-0001"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.FileServerFS(os.DirFS(filepath.Join(dir, "dist")))}
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Close() })

	s := &site{t: t, emu: emu.Emulator}
	q := url.Values{"endpoint": {emu.Endpoint}, "libraryId": {emu.LibraryID()}, "accessToken": {"readme-token-0001"}}
	s.open(chromium, "http://"+ln.Addr().String()+"/?"+q.Encode())
	data := s.upload("readme.bin", 9<<20+3) // two parts of the default 8 MiB
	s.assertStored("readme.bin", data)
	assert.Equal(t, 2, emu.Count("part"))
}

func (s *site) do(actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	require.NoError(s.t, chromedp.Do(s.ctx, actions...))
}

func (s *site) eval(expr string) string {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[string](expr))
	require.NoError(s.t, err)
	return v
}

// upload picks a random file of size bytes in the app, waits until it is
// done and checks the CRC-64 the module reported; it returns the bytes.
func (s *site) upload(name string, size int) []byte {
	s.t.Helper()
	path := filepath.Join(s.t.TempDir(), name)
	data := randomFile(s.t, path, size)
	s.do(chromedp.SetUploadFiles(chromedp.CSS(`#files`), []string{path}),
		chromedp.Poll[chromedp.Void](`document.querySelector("#out li")?.dataset.state !== undefined`))
	require.Equal(s.t, "done", s.eval(`document.querySelector("#out li").dataset.state`), s.eval(`document.querySelector("#out li").dataset.error ?? ""`))
	want := strconv.FormatUint(crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)), 10)
	assert.Equal(s.t, want, s.eval(`document.querySelector("#out li").dataset.crc64`), "the CRC-64 of the stored file is the source's")
	return data
}

// randomFile writes size random bytes to path and returns them.
func randomFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return data
}

func (s *site) assertStored(path string, data []byte) {
	s.t.Helper()
	got, err := s.emu.ReadFile("-", path)
	require.NoError(s.t, err)
	assert.True(s.t, bytes.Equal(data, got), "stored bytes differ from the file (%d vs %d bytes)", len(got), len(data))
	assert.Greater(s.t, s.emu.Count("part"), 1, "a multi-part upload")
}

// pagePartRequests counts the part uploads in the page's own resource
// timeline, which a Worker's requests are not part of.
func (s *site) pagePartRequests() int {
	s.t.Helper()
	n, err := chromedp.Run(s.ctx, chromedp.Evaluate[int](
		`performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname.startsWith("/cos/")).length`))
	require.NoError(s.t, err)
	return n
}

// The published types hold a strict TypeScript consumer, and they are the
// ones it uses: a wrong option type fails the same compile.
func TestTypeScriptConsumer(t *testing.T) {
	tarball, _ := need(t)
	dir := newApp(t, tarball, "ts/consumer.ts", "ts/queue.ts", "ts/uppy.ts", "ts/tsconfig.json")
	linkUppy(t, dir)
	run(t, dir, tool("tsc"), "--noEmit", "--strict", "-p", ".")

	bad := `import { load } from "smh-upload";
const smh = await load();
smh.upload(new Blob(), { endpoint: "https://x", libraryId: "l", path: "p", partSize: "8M" });
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "consumer.ts"), []byte(bad), 0o644))
	cmd := exec.Command(tool("tsc"), "--noEmit", "--strict", "-p", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "a string partSize must not compile")
	assert.Contains(t, string(out), "consumer.ts(3,", "%s", out)
	assert.Contains(t, string(out), "TS2322", "%s", out)

	// The queue's options are typed too: a string concurrency and an
	// upload-only option (slots: a queue has its own pool) do not compile.
	bad = `import { load } from "smh-upload";
const smh = await load();
smh.queue({ endpoint: "https://x", libraryId: "l", concurrency: "4" });
smh.queue({ endpoint: "https://x", libraryId: "l", slots: smh.slots(2) });
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "consumer.ts"), []byte(bad), 0o644))
	cmd = exec.Command(tool("tsc"), "--noEmit", "--strict", "-p", ".")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	require.Error(t, err, "a string concurrency must not compile")
	assert.Contains(t, string(out), "consumer.ts(3,", "%s", out)
	assert.Contains(t, string(out), "consumer.ts(4,", "%s", out)
}
