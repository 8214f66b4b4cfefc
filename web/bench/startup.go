//go:build !js

package bench

// The start-up table (issue #15): how long after navigation each uploader is ready, cold without and
// with the README's preload tags and warm, with the module's critical path and V8's wasm code cache.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// KindBare is the start-up table's baseline: the same page with no uploader.
const KindBare Kind = "bare"

// KindFloor is the start-up table's floor: the page streams and compiles the module's smh.wasm with
// WebAssembly.compileStreaming and nothing else (no Worker, no instance, no Go), so that its figure
// minus the bare page's is what the file alone costs on this machine and browser, and the module's
// minus the floor's is what its loader adds. V8 compiles a function when it is first called, so the
// floor's compile is the module's decoding and validation; and as its module never runs, V8 never
// writes it to the code cache: its warm visit reads the file from the HTTP cache and compiles again.
const KindFloor Kind = "floor"

// StartupColumn is how a start-up page is visited.
type StartupColumn string

// The columns of the start-up table.
const (
	// StartCold: a fresh profile, the README's first example as it stands (no preload tags).
	StartCold StartupColumn = "cold"
	// StartColdPreload: a fresh profile, the page with the README's preload tags.
	StartColdPreload StartupColumn = "cold-preload"
	// StartWarm: the cold page again, in a new browser on the cold visit's profile (its HTTP cache
	// and code cache on disk): a returning visitor, whose first visit lasted long enough for V8 to
	// write its wasm code cache (Config.StartupStay).
	StartWarm StartupColumn = "warm"
)

// StartupColumns are the table's columns, in order.
var StartupColumns = []StartupColumn{StartCold, StartColdPreload, StartWarm}

// StartupRow is one row of the start-up table.
type StartupRow struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Base, for a module row, is the folder the page loads the module from: /module (Config.ModuleDir),
	// or a variant's /module-<id>.
	Base string `json:"base,omitempty"`
	// InPage, for a module row, loads it with load({ worker: false }): Go in the page, no Worker.
	InPage bool `json:"inPage,omitempty"`
}

// Start-up row ids.
const (
	StartupBare   = "bare"
	StartupCOS    = "cos"
	StartupModule = "module"
	StartupInPage = "module-inpage"
	StartupFloor  = "floor"
)

// StartupRows are the rows: the bare page, cos-js-sdk-v5, this module and its floor, then a row for
// each of variants' builds (Config.StartupVariants; a floor for a folder without smh-upload.js),
// visited in the same rounds.
func StartupRows(variants ...Contestant) []StartupRow {
	return startupRows(variants, nil)
}

// startupRows are StartupRows, the rows of variants in immutable named so.
func startupRows(variants []Contestant, immutable []string) []StartupRow {
	rows := []StartupRow{
		{ID: StartupBare, Name: "bare page (no uploader)", Kind: KindBare},
		{ID: StartupCOS, Name: "cos-js-sdk-v5 " + COSSDKVersion + " (new COS)", Kind: KindCOS},
		{ID: StartupModule, Name: "smh-upload (await load(), Worker)", Kind: KindModule, Base: "/module"},
		// What the Worker costs the start-up: the same module run in the page, as a page whose
		// Content-Security-Policy forbids Workers gets it.
		{ID: StartupInPage, Name: "smh-upload in the page (load({ worker: false }))", Kind: KindModule, Base: "/module", InPage: true},
		{ID: StartupFloor, Name: "floor: compileStreaming(smh.wasm) alone", Kind: KindFloor, Base: "/module"},
	}
	for _, v := range variants {
		row := StartupRow{ID: v.ID, Name: "variant " + v.ID + ": smh-upload (await load(), Worker)", Kind: KindModule, Base: "/module-" + v.ID}
		// A folder with an smh.wasm and no loader is a floor of its own: how a .wasm's size and
		// contents alone set the start-up (a smaller build, or a module of a custom section only).
		if floorDir(v.ModuleDir) {
			row.Name, row.Kind = "variant "+v.ID+": compileStreaming(smh.wasm) alone", KindFloor
		}
		if slices.Contains(immutable, v.ID) {
			row.Name += ", files served with a year's max-age"
		}
		rows = append(rows, row)
	}
	return rows
}

// floorDir reports whether dir holds a .wasm without a loader: an smh.wasm and no smh-upload.js.
func floorDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "smh-upload.js"))
	return errors.Is(err, fs.ErrNotExist)
}

// wasmPath is the path of the row's smh.wasm on the page server.
func (row StartupRow) wasmPath() string { return row.Base + "/smh.wasm" }

// hasWasm reports whether the row's page compiles smh.wasm: the module's rows and the floor.
func (row StartupRow) hasWasm() bool { return row.Kind == KindModule || row.Kind == KindFloor }

// linger is how long a cold visit of a row without wasm stays on the page after it is ready, before
// its browser closes and the warm visit starts on its profile.
const linger = 3 * time.Second

// DefaultStartupStay is Config.StartupStay's default. V8 hands a compiled module to Chromium's code
// cache only once it has tiered up functions (TurboFan) and then compiled nothing new for a while, a
// timer that Chromium 156 ran 15 to 30 s after the page's start here in earlier runs (never within
// 10 s), later on a busy machine, and about 2 s after ready in 2026-12-07's (median of 8 visits).
const DefaultStartupStay = 60 * time.Second

// ResourceTiming is when one file of the page arrived, in ms since navigation start (the Worker's
// figures moved onto the page's clock).
type ResourceTiming struct {
	StartMs float64 `json:"startMs"`
	EndMs   float64 `json:"responseEndMs"`
	// TransferBytes is 0 for a file from the HTTP cache, the headers' size for a 304.
	TransferBytes int64 `json:"transferBytes"`
}

// WasmTrace is what Chromium's trace says of smh.wasm's compilation and code cache during a visit.
type WasmTrace struct {
	Streamed int `json:"streamedCompiles"` // wasm.StartStreamingCompilation: streaming compiles begun
	Compiled int `json:"compiled"`         // of those, compiled from the bytes (not from the cache)
	CacheHit int `json:"codeCacheHits"`    // wasm.Deserialize (or Blink's v8.wasm.moduleCacheHit): from the code cache
	// Cached is Blink's v8.wasm.cachedModule events while a cold visit stayed on the page: the
	// module written to the code cache for the next visit.
	Cached int `json:"cachedModule"`
	// CompiledMs is when the module was compiled or taken from the cache, ms since navigation start;
	// 0 when the trace did not tell.
	CompiledMs float64 `json:"compiledMs,omitempty"`
}

// StartupRun is one visit of one start-up page.
type StartupRun struct {
	Row    string        `json:"row"`
	Column StartupColumn `json:"column"`
	Round  int           `json:"round"`
	Error  string        `json:"error,omitempty"`
	// ReadyMs is navigation start to ready: the module's load() resolved, the COS SDK constructed, the
	// bare page's script ran.
	ReadyMs float64 `json:"readyMs"`
	// Resources are the files the page and its Worker fetched, by name ("worker:" before the Worker's).
	Resources map[string]ResourceTiming `json:"resources"`
	// Requests are the requests the page server answered, by path (a 304 counts).
	Requests map[string]int `json:"requests"`
	Wasm     WasmTrace      `json:"wasm"`
	Version  string         `json:"version,omitempty"` // the module's or the SDK's
	// CPUMs is the CPU time Chromium's threads ran from just before navigation until the bench saw
	// the page ready (polling every 10 ms), by process class and thread name ("renderer main",
	// the page's main thread): the work a start-up costs, which a busy machine does not stretch as it does
	// the wall-clock figures.
	CPUMs map[string]float64 `json:"cpuMs,omitempty"`
	// StayMs is how long a cold visit stayed on the page after it was ready: linger, or for a module
	// row until V8's code cache was on disk (at most Config.StartupStay).
	StayMs float64 `json:"stayMs,omitempty"`
}

// pageResource is a PerformanceResourceTiming entry as the start-up page hands it over.
type pageResource struct {
	Name  string  `json:"name"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Size  int64   `json:"size"`
}

// StartupCell is the median of one row in one column.
type StartupCell struct {
	Runs    int     `json:"runs"`
	Failed  int     `json:"failed"`
	ReadyMs float64 `json:"readyMs"`
	// OverBare is ReadyMs minus the bare page's ReadyMs in the same column: the uploader's own cost.
	OverBare float64 `json:"overBareMs"`
	// CacheHits and Compiles are the runs whose smh.wasm came from V8's code cache, and those that
	// compiled it.
	CacheHits int `json:"codeCacheHits"`
	Compiles  int `json:"compiles"`
	// WasmRequests is the most requests for smh.wasm in one run (1 when a preload was reused).
	WasmRequests int `json:"wasmRequests"`
	// CPUMs is the median of the runs' total CPU time (StartupRun.CPUMs), and CPUOverBare its
	// difference from the bare page's in the same column; Threads, for the module's rows, the median
	// of each thread group's.
	CPUMs       float64            `json:"cpuMs"`
	CPUOverBare float64            `json:"cpuOverBareMs"`
	Threads     map[string]float64 `json:"threadsCpuMs,omitempty"`
	// Processes is the median of each process class's CPU time (the sum of its threads'), every row.
	Processes map[string]float64 `json:"processesCpuMs,omitempty"`
	// Path is the critical path: the median of each file's arrival (and "compiled", "ready"), ms.
	Path map[string]float64 `json:"path,omitempty"`
}

// StartupResult is one row of the start-up table, with a cell per column.
type StartupResult struct {
	StartupRow
	Cells map[StartupColumn]StartupCell `json:"cells"`
}

// StartupTable is the outcome of the start-up rounds.
type StartupTable struct {
	Rounds int `json:"rounds"`
	// Stay is the most a module's cold visit stayed for V8's code cache (Config.StartupStay).
	Stay time.Duration `json:"stay"`
	// Link is the shaped link the pages came through (Config.Link, its rate on the download); "" on
	// loopback.
	Link string          `json:"link,omitempty"`
	Rows []StartupResult `json:"rows"`
	Runs []StartupRun    `json:"runs"`
}

// startupPage is the start-up page of an uploader of kind: the README's first example for the module
// in folder base (with inPage, load({ worker: false })), compileStreaming of base's smh.wasm for the
// floor, a script tag and new COS() for cos-js-sdk-v5, nothing for the bare page; with preload, the
// README's preload tags (for the floor, the one for smh.wasm). All run the same inline module script
// around their uploader.
func startupPage(kind Kind, base string, preload, inPage bool) []byte {
	const cosSDK = "/cos/cos-js-sdk-v5.min.js"
	var head, imports, setup string
	switch kind {
	case KindModule:
		if preload {
			head = readmePreloads(base)
		}
		imports = `import { load } from "` + base + `/smh-upload.js";`
		opts := ""
		if inPage {
			opts = "{ worker: false }"
		}
		setup = `const smh = await load(` + opts + `);
  window.startupVersion = smh.version;`
	case KindFloor:
		if preload {
			head = readmeWasmPreload(base)
		}
		// The same request as load()'s and the preload's: a plain fetch (mode cors, credentials
		// same-origin), so that the preload is reused and the code cache is keyed the same.
		setup = `await WebAssembly.compileStreaming(fetch(new URL(` + strconv.Quote(base+"/smh.wasm") + `, location.href)));`
	case KindCOS:
		if preload {
			head = `<link rel="preload" href="` + cosSDK + `" as="script">` + "\n"
		}
		head += `<script src="` + cosSDK + `"></script>` + "\n"
		setup = `new COS({ SecretId: "AKIDbench", SecretKey: "bench" });
  window.startupVersion = COS.version;`
	}
	return []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>start-up: ` + html.EscapeString(string(kind)) + `</title>
` + head + `<script type="module">
` + imports + `
try {
  ` + setup + `
  window.startupReady = performance.now();
  performance.mark("smh-bench-ready");
} catch (err) {
  window.startupError = String(err?.stack ?? err);
  window.startupReady = -1;
}
</script>
</head>
<body><p>start-up</p></body>
</html>
`)
}

// readmePreloads are the README's preload tags for the module in folder base.
func readmePreloads(base string) string {
	b := html.EscapeString(base)
	return `<link rel="modulepreload" href="` + b + `/smh-upload.js">` + "\n" + readmeWasmPreload(base)
}

// readmeWasmPreload is the README's preload tag for smh.wasm in folder base.
func readmeWasmPreload(base string) string {
	return `<link rel="preload" href="` + html.EscapeString(base) + `/smh.wasm" as="fetch" type="application/wasm" crossorigin>` + "\n"
}

// runStartup runs rounds of every start-up row: in each round and for each row (their order rotated) a
// cold visit in a fresh profile, the warm visit on that profile, and a cold visit with preloads in
// another fresh profile.
func (h *harness) runStartup(ctx context.Context, srv *pageServer, rounds int) (*StartupTable, error) {
	rows := startupRows(h.cfg.StartupVariants, h.cfg.StartupImmutable)
	t := &StartupTable{Rounds: rounds, Stay: cmp.Or(h.cfg.StartupStay, DefaultStartupStay)}
	if h.cfg.Link != nil {
		t.Link = h.cfg.Link.String()
	}
	for round := 1; round <= rounds; round++ {
		for i := range rows {
			row := rows[(i+round-1)%len(rows)]
			for _, col := range StartupColumns {
				if col == StartWarm {
					continue // visited with the cold one, on its profile
				}
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				profile, err := os.MkdirTemp(h.cfg.WorkDir, "startup-")
				if err != nil {
					return nil, err
				}
				u := h.startupURL + "startup?kind=" + url.QueryEscape(string(row.Kind)) + "&base=" + url.QueryEscape(row.Base)
				if row.InPage {
					u += "&inpage=1"
				}
				if col == StartColdPreload {
					u += "&preload=1"
				}
				var stay time.Duration
				switch {
				case col != StartCold:
				case row.Kind == KindModule:
					// A floor's module never runs, so V8 never tiers it up nor caches it: the floor
					// lingers, and its warm visit compiles again.
					stay = cmp.Or(h.cfg.StartupStay, DefaultStartupStay)
				default:
					stay = linger
				}
				r := h.visit(ctx, srv, profile, u, stay, row.Kind == KindModule, h.traceFile(row, col, round))
				r.Row, r.Column, r.Round = row.ID, col, round
				h.cfg.Logf("start-up round %d %-13s %-13s %s", round, row.ID, col, r.summary(row))
				t.Runs = append(t.Runs, r)
				if row.ID == StartupModule || row.Kind != KindModule {
					h.noteVersion(row.Kind, r.Version) // a variant's is not the module's
				}
				if col == StartCold {
					w := h.visit(ctx, srv, profile, u, 0, false, h.traceFile(row, StartWarm, round))
					w.Row, w.Column, w.Round = row.ID, StartWarm, round
					h.cfg.Logf("start-up round %d %-13s %-13s %s", round, row.ID, StartWarm, w.summary(row))
					t.Runs = append(t.Runs, w)
				}
				os.RemoveAll(profile)
			}
		}
	}
	t.Rows = aggregateStartup(rows, t.Runs)
	return t, nil
}

func (r StartupRun) summary(row StartupRow) string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	s := fmt.Sprintf("ready %6.1f ms", r.ReadyMs)
	if r.Wasm.Streamed > 0 {
		s += fmt.Sprintf("  wasm: compiled %d, cache hit %d, cached %d, %d request(s)", r.Wasm.Compiled, r.Wasm.CacheHit,
			r.Wasm.Cached, r.Requests[row.wasmPath()])
	}
	return s
}

// noteVersion keeps the version that a visit of kind reported, for the report.
func (h *harness) noteVersion(kind Kind, v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case v == "":
	case kind == KindModule:
		h.moduleV = v
	case kind == KindCOS:
		h.cosV = v
	}
}
