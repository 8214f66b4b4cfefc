//go:build !js

package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"hash/crc64"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/internal/headless"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/web"
	"github.com/smhupload/smh-upload/web/page"
)

// demo is the demo server on 127.0.0.1 with its emulator, and a headless
// Chromium with a fresh profile on disk driving the page.
type demo struct {
	t   *testing.T
	emu *emulator.Emulator
	url string
	ctx context.Context
}

// needModule skips the test, or fails it under make test (which sets
// SMH_REQUIRE_BROWSER so that a missing build fails the run), unless make
// wasm has put these files of the browser module into web/page/site.
func needModule(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := fs.Stat(page.FS(), name); err != nil {
			skipOrFail(t, "the browser module's "+name+" in web/page/site (make wasm)")
		}
	}
}

// needBrowser is needModule for smh.wasm, and Chromium.
func needBrowser(t *testing.T) string {
	t.Helper()
	needModule(t, "smh.wasm")
	bin := os.Getenv("SMH_CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := os.Stat(bin); err != nil {
		skipOrFail(t, "Chromium at "+bin)
	}
	return bin
}

func skipOrFail(t *testing.T, missing string) {
	t.Helper()
	if os.Getenv("SMH_REQUIRE_BROWSER") != "" {
		t.Fatalf("needs %s", missing)
	}
	t.Skipf("needs %s: run make test", missing)
}

// startDemo serves the demo on the embedded emulator and opens it in
// headless Chromium; wrap, if given, wraps the demo's handler.
func startDemo(t *testing.T, wrap ...func(http.Handler) http.Handler) *demo {
	bin := needBrowser(t)
	emu, err := emulator.New(emulator.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	emu.SetCOSDomain(ln.Addr().String() + web.EmulatorCOSPrefix)
	h, err := web.New(web.Config{Emulator: emu, Assets: page.FS()})
	require.NoError(t, err)
	for _, w := range wrap {
		h = w(h)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Close() })

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		headless.Options(bin, t.TempDir(), chromedp.WindowSize(1100, 1300))...)
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(headless.Errorf(t.Logf)))
	ctx, cancelC := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	d := &demo{t: t, emu: emu, url: "http://" + ln.Addr().String() + "/", ctx: ctx}
	d.run(chromedp.Navigate(d.url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
	return d
}

func (d *demo) file(name string, size int) (string, []byte) {
	data := make([]byte, size)
	_, _ = rand.Read(data)
	path := filepath.Join(d.t.TempDir(), name)
	require.NoError(d.t, os.WriteFile(path, data, 0o600))
	return path, data
}

func (d *demo) run(actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	require.NoError(d.t, chromedp.Do(d.ctx, actions...))
}

func (d *demo) text(sel string) string {
	d.t.Helper()
	s, err := chromedp.Run(d.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(d.t, err)
	return s
}

func (d *demo) setValue(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), v)
}

func upload(path string) chromedp.Action[chromedp.Void] {
	return chromedp.SetUploadFiles(chromedp.CSS(`#files`), []string{path})
}

func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(2*time.Minute))
}

var done = chromedp.WaitVisible(chromedp.CSS(`#uploads li[data-state="done"]`))

func (d *demo) assertStored(path string, data []byte) {
	d.t.Helper()
	got, err := d.emu.ReadFile("-", path)
	require.NoError(d.t, err)
	assert.True(d.t, bytes.Equal(data, got), "stored bytes differ from the file (%d vs %d bytes)", len(got), len(data))
}

// inPage reports whether the page itself fetched wasm_exec.js, which only
// a module running in the page (not in its Worker) does.
func (d *demo) inPage() bool {
	d.t.Helper()
	v, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](
		`performance.getEntriesByType("resource").some((e) => e.name.endsWith("/wasm_exec.js"))`))
	require.NoError(d.t, err)
	return v
}

func TestDemoUploadsAFile(t *testing.T) {
	var mu sync.Mutex
	gets := map[string]int{}
	d := startDemo(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			gets[r.URL.Path]++
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	})
	mu.Lock()
	assert.Equal(t, 1, gets["/smh.wasm"], "load() compiled the preloaded smh.wasm; the browser fetched it once")
	assert.Equal(t, 1, gets["/smh-upload.js"], "the module's page side is one file")
	assert.Equal(t, 1, gets["/smh-upload-worker.js"], "the Worker's is one file")
	assert.Zero(t, gets["/wasm_exec.js"], "the Worker's file holds wasm_exec.js")
	mu.Unlock()
	path, data := d.file("forty.bin", 40<<20)
	d.run(upload(path), done)
	assert.Contains(t, d.text(`#uploads li .result`), "stored as demo/forty.bin")
	d.assertStored("demo/forty.bin", data)
	assert.False(t, d.inPage(), "the module ran in a Worker")
	if out := os.Getenv("SMH_SCREENSHOT"); out != "" {
		png, err := chromedp.Run(d.ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(out, png, 0o644))
	}
}

func TestDemoPauseAndResume(t *testing.T) {
	d := startDemo(t)
	d.emu.SetLatency(50 * time.Millisecond) // slow enough to pause a quarter of the way in
	path, data := d.file("paused.bin", 40<<20)
	d.run(d.setValue("#partSize", "1"), d.setValue("#concurrency", "2"), upload(path),
		waitFor(`(document.querySelector("#uploads progress")?.value ?? 0) > 0.25`))
	d.run(chromedp.Click(chromedp.CSS(`#uploads li .pause`)), chromedp.WaitVisible(chromedp.CSS(`#uploads li .resume`)))
	before := d.emu.Count("status")
	d.run(chromedp.Click(chromedp.CSS(`#uploads li .resume`)), done)
	assert.Greater(t, d.emu.Count("status"), before, "the resume listed the parts already stored")
	assert.Less(t, d.emu.Count("part"), 40+2*4, "parts stored before the pause were not sent again")
	d.assertStored("demo/paused.bin", data)
}

func TestDemoShowsARenewal(t *testing.T) {
	d := startDemo(t)
	// 40 parts one at a time, each at least 100 ms: the upload outlasts the
	// 2 s signatures however fast the machine is, so it must renew.
	d.emu.SetLatency(100 * time.Millisecond)
	path, data := d.file("renewed.bin", 40<<20)
	d.run(d.setValue("#ttl", "2"), chromedp.Click(chromedp.CSS(`#applyTTL`)),
		waitFor(`document.querySelector("#log").textContent.includes("signatures now live 2 s")`),
		d.setValue("#partSize", "1"), d.setValue("#concurrency", "1"), upload(path), done)
	assert.Contains(t, d.text(`#log`), "renewed upload signatures")
	assert.GreaterOrEqual(t, d.emu.Count("renew"), 1)
	d.assertStored("demo/renewed.bin", data)
}

// A page whose Content-Security-Policy forbids Workers still gets a working
// module: load() falls back to running it in the page.
func TestDemoWithoutWorkers(t *testing.T) {
	var wasmGets atomic.Int32
	d := startDemo(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/smh.wasm" {
				wasmGets.Add(1)
			}
			w.Header().Set("Content-Security-Policy", "worker-src 'none'")
			h.ServeHTTP(w, r)
		})
	})
	assert.Equal(t, int32(1), wasmGets.Load(), "the fallback ran the module compiled for the Worker")
	path, data := d.file("no-worker.bin", 3<<20)
	d.run(upload(path), done)
	d.assertStored("demo/no-worker.bin", data)
	assert.True(t, d.inPage(), "the module ran in the page")
}

// load({ wasmExecURL }) makes the Worker load that wasm_exec.js instead of
// the copy in its file, and a file there that does not define Go rejects
// load() with an error that names it.
func TestWasmExecURL(t *testing.T) {
	var execGets atomic.Int32
	d := startDemo(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/exec.html":
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write([]byte(`<!doctype html><script type="module">
import { load } from "./smh-upload.js";
const exec = new URLSearchParams(location.search).get("exec");
load({ wasmExecURL: exec }).then((smh) => { document.body.dataset.result = "ready " + smh.version; },
  (err) => { document.body.dataset.result = "failed: " + err.message; });
</script>`))
				return
			case "/not-go.js":
				w.Header().Set("Content-Type", "text/javascript")
				_, _ = w.Write([]byte("// defines nothing\n"))
				return
			case "/wasm_exec.js":
				if r.URL.RawQuery == "own" {
					execGets.Add(1)
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	result := func(exec string) string {
		d.run(chromedp.Navigate(d.url+"exec.html?exec="+exec), waitFor(`document.body?.dataset.result !== undefined`))
		v, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](`document.body.dataset.result`))
		require.NoError(t, err)
		return v
	}
	assert.True(t, strings.HasPrefix(result("./wasm_exec.js%3Fown"), "ready "), "the module started on the given wasm_exec.js")
	assert.Equal(t, int32(1), execGets.Load(), "the Worker fetched the given wasm_exec.js")
	got := result("./not-go.js")
	assert.Contains(t, got, "failed: ")
	assert.Contains(t, got, "/not-go.js did not define Go")
}

// The demo's Uppy page: two files through Uppy's Dashboard and smh-upload/uppy,
// one of several parts, both stored with the source's bytes and CRC-64.
func TestDemoUppyPage(t *testing.T) {
	if _, err := fs.Stat(page.FS(), "uppy.js"); err != nil {
		skipOrFail(t, "the Uppy page's bundle, web/page/site/uppy.js (make web/page/site/uppy.js)")
	}
	d := startDemo(t)
	d.run(chromedp.Navigate(d.url+"uppy.html"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
	big, bigData := d.file("big.bin", 20<<20)
	small, smallData := d.file("small.bin", 3<<10)
	d.run(chromedp.SetUploadFiles(chromedp.CSS(`input.uppy-Dashboard-input[name="files[]"]`), []string{big, small}),
		chromedp.Click(chromedp.CSS(`.uppy-StatusBar-actionBtn--upload`)),
		waitFor(`document.querySelectorAll("#stored li").length === 2`))
	for name, data := range map[string][]byte{"big.bin": bigData, "small.bin": smallData} {
		crc := strconv.FormatUint(crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)), 10)
		assert.Equal(t, name+": stored as uppy/"+name+", CRC-64 "+crc, d.text(`#stored li[data-name="`+name+`"]`))
		d.assertStored("uppy/"+name, data)
	}
	assert.GreaterOrEqual(t, d.emu.Count("part"), 3, "the big file went in parts")
	assert.False(t, d.inPage(), "the module ran in a Worker")
}
