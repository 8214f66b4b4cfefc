//go:build !js

package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each contestant's page gets the preload hints that the README asks of a
// page using it, and nothing else; a page without ?cfg= is served as is.
func TestPagePreloads(t *testing.T) {
	index := []byte(`<head><script type="module" src="bench.js"></script></head>`)
	get := func(cfg string) string { return string(withPreloads(index, cfg)) }
	mod := get(`{"kind":"module","moduleBase":"/module-2"}`)
	assert.Contains(t, mod, `<link rel="modulepreload" href="/module-2/smh-upload.js">`)
	assert.Equal(t, 1, strings.Count(mod, "modulepreload"), "one module file: smh-upload.js is one bundle")
	assert.Contains(t, mod, `<link rel="preload" href="/module-2/smh.wasm" as="fetch" type="application/wasm" crossorigin>`)
	assert.Less(t, strings.Index(mod, "preload"), strings.Index(mod, "<script"), "hints come before the page's script")
	assert.Contains(t, get(`{"kind":"cos","cosSDK":"/cos/cos-js-sdk-v5.min.js"}`), `<link rel="preload" href="/cos/cos-js-sdk-v5.min.js" as="script">`)
	assert.Equal(t, string(index), get(`{"kind":"xhr"}`))
	assert.Equal(t, string(index), get(""))
	assert.NotContains(t, get(`{"kind":"module","moduleBase":"\"><script>x</script>"}`), "<script>x", "the base is escaped")
}

// A variant's start-up page loads the module from the variant's folder, and the folders named
// immutable are served with a year's max-age instead of the static handler's no-cache and ETag
// revalidation, for 200s and for the 304s that a conditional request still gets.
func TestStartupVariantPages(t *testing.T) {
	site := t.TempDir()
	for _, dir := range []string{"module", "module-a", "module-b"} {
		require.NoError(t, os.MkdirAll(filepath.Join(site, dir), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(site, dir, "smh-upload.js"), []byte("export {};\n"), 0o644))
	}
	srv := pageHandler(site, filepath.Join(site, "missing-cos.js"))
	srv.immutable["module-b"] = true
	get := func(path string, header ...string) *http.Response {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Result()
	}

	page, err := io.ReadAll(get("/startup?kind=module&base=%2Fmodule-a").Body)
	require.NoError(t, err)
	assert.Contains(t, string(page), `import { load } from "/module-a/smh-upload.js";`)
	page, err = io.ReadAll(get("/startup?kind=module").Body)
	require.NoError(t, err)
	assert.Contains(t, string(page), `import { load } from "/module/smh-upload.js";`, "no base: the module's own folder")

	plain := get("/module-a/smh-upload.js")
	require.Equal(t, http.StatusOK, plain.StatusCode)
	assert.Equal(t, "no-cache", plain.Header.Get("Cache-Control"))
	imm := get("/module-b/smh-upload.js")
	require.Equal(t, http.StatusOK, imm.StatusCode)
	assert.Equal(t, immutableCache, imm.Header.Get("Cache-Control"))
	again := get("/module-b/smh-upload.js", "If-None-Match", imm.Header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, again.StatusCode)
	assert.Equal(t, immutableCache, again.Header.Get("Cache-Control"))
	assert.Equal(t, map[string]int{"/startup": 2, "/module-a/smh-upload.js": 1, "/module-b/smh-upload.js": 2}, srv.takeRequests())
}

// The start-up table has a row per variant, after the module's and its floor's, loading from the
// variant's folder; a folder with no smh-upload.js is a floor of its own.
func TestStartupRows(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "smh-upload.js"), []byte("export {};\n"), 0o644))
	}
	rows := startupRows([]Contestant{{ID: "a", ModuleDir: a}, {ID: "b", ModuleDir: b}, {ID: "c", ModuleDir: c}}, []string{"b"})
	require.Len(t, rows, 8)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{StartupBare, StartupCOS, StartupModule, StartupInPage, StartupFloor, "a", "b", "c"}, ids)
	assert.Equal(t, "/module", rows[2].Base)
	assert.False(t, rows[2].InPage)
	assert.Equal(t, KindModule, rows[3].Kind)
	assert.Equal(t, "/module", rows[3].Base, "the module's own files, in the page")
	assert.True(t, rows[3].InPage)
	assert.Equal(t, KindFloor, rows[4].Kind)
	assert.Equal(t, "/module/smh.wasm", rows[4].wasmPath(), "the floor compiles the module's own file")
	assert.Equal(t, KindModule, rows[5].Kind)
	assert.Equal(t, "/module-a", rows[5].Base)
	assert.Equal(t, "/module-b/smh.wasm", rows[6].wasmPath())
	assert.NotContains(t, rows[5].Name, "max-age")
	assert.Contains(t, rows[6].Name, "max-age")
	assert.Equal(t, KindFloor, rows[7].Kind, "no loader in the folder")
	assert.Equal(t, "/module-c/smh.wasm", rows[7].wasmPath())
	for _, r := range rows {
		assert.Equal(t, r.Kind == KindModule || r.Kind == KindFloor, r.hasWasm(), r.ID)
	}
	assert.Equal(t, StartupRows(), startupRows(nil, nil))
}

// The floor's page compiles the folder's smh.wasm with the same request that load() and the README's
// preload tag make, and with preload carries that tag alone (there is no smh-upload.js to preload).
func TestFloorPage(t *testing.T) {
	page := string(startupPage(KindFloor, "/module-c", false, false))
	assert.Contains(t, page, `await WebAssembly.compileStreaming(fetch(new URL("/module-c/smh.wasm", location.href)));`)
	assert.NotContains(t, page, "smh-upload.js")
	assert.NotContains(t, page, "<link")
	pre := string(startupPage(KindFloor, "/module-c", true, false))
	assert.Contains(t, pre, readmeWasmPreload("/module-c"))
	assert.Contains(t, readmePreloads("/module-c"), readmeWasmPreload("/module-c"), "the README's tag")
	assert.NotContains(t, pre, "modulepreload")
}

// The in-page row's page is the README's example with load({ worker: false }); the module row's
// passes no options.
func TestInPagePage(t *testing.T) {
	srv := pageHandler(t.TempDir(), "")
	get := func(path string) string {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Body.String()
	}
	assert.Contains(t, get("/startup?kind=module&base=%2Fmodule&inpage=1"), "const smh = await load({ worker: false });")
	worker := get("/startup?kind=module&base=%2Fmodule")
	assert.Contains(t, worker, "const smh = await load();")
	assert.NotContains(t, worker, "worker: false")
}

// Each module row is measured against the floor of its own folder's smh.wasm, or the floor variant
// named after it with "floor" appended, however many floors of other .wasm files (-variants) come
// after it.
func TestOverFloor(t *testing.T) {
	cell := func(ready, cpu float64) map[StartupColumn]StartupCell {
		out := map[StartupColumn]StartupCell{}
		for _, col := range StartupColumns {
			out[col] = StartupCell{Runs: 1, ReadyMs: ready, CPUMs: cpu}
		}
		return out
	}
	rep := &Report{Startup: &StartupTable{Rows: []StartupResult{
		{StartupRow: StartupRow{ID: StartupModule, Name: "the module", Kind: KindModule, Base: "/module"}, Cells: cell(200, 400)},
		{StartupRow: StartupRow{ID: StartupFloor, Name: "its floor", Kind: KindFloor, Base: "/module"}, Cells: cell(130, 250)},
		{StartupRow: StartupRow{ID: "c32", Name: "another floor", Kind: KindFloor, Base: "/module-c32"}, Cells: cell(150, 260)},
		{StartupRow: StartupRow{ID: "gohello", Name: "empty Go", Kind: KindModule, Base: "/module-gohello"}, Cells: cell(170, 300)},
		{StartupRow: StartupRow{ID: "gohellofloor", Name: "its floor", Kind: KindFloor, Base: "/module-gohellofloor"}, Cells: cell(100, 190)},
	}}}
	var b strings.Builder
	rep.writeOverFloor(&b, "- ")
	assert.Equal(t, "- the module over the floor (what the loader adds to compiling its smh.wasm): "+
		"cold, no preload +70 ms (CPU +150), cold, README's preload tags +70 ms (CPU +150), "+
		"warm (second visit, same profile) +70 ms (CPU +150).\n"+
		"- empty Go over the floor (what the loader adds to compiling its smh.wasm): "+
		"cold, no preload +70 ms (CPU +110), cold, README's preload tags +70 ms (CPU +110), "+
		"warm (second visit, same profile) +70 ms (CPU +110).\n", b.String())
}

// CPU by process sums each class's thread groups in a run, then takes the median over runs; a class
// a run lacks counts 0 there.
func TestProcessMedians(t *testing.T) {
	runs := []StartupRun{
		{CPUMs: map[string]float64{"browser main": 50, "browser Chrome_IOThread": 10, "renderer main": 30, "network Chrome_ChildIOT": 5}},
		{CPUMs: map[string]float64{"browser main": 70, "renderer main": 20, "renderer DedicatedWorker": 40}},
		{CPUMs: map[string]float64{"browser main": 40, "renderer main": 25, "gpu VizCompositorTh": 8}},
	}
	assert.Equal(t, map[string]float64{"browser": 60, "renderer": 30, "network": 0, "gpu": 0, "other": 0}, processMedians(runs))
	row := StartupResult{Cells: map[StartupColumn]StartupCell{StartCold: {Runs: 3, Processes: processMedians(runs)}}}
	assert.Equal(t, "60 / 30 / 0 / 0 / 0", startupProcessCell(row, StartCold))
}
