//go:build !js

package bench

// The start-up table (issue #15): how long after navigation each uploader is ready, cold without and
// with the README's preload tags and warm, with the module's critical path and V8's wasm code cache.

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/smhupload/smh-upload/internal/headless"
)

// KindBare is the start-up table's baseline: the same page with no uploader.
const KindBare Kind = "bare"

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
}

// Start-up row ids.
const (
	StartupBare   = "bare"
	StartupCOS    = "cos"
	StartupModule = "module"
)

// StartupRows are the rows: the bare page, cos-js-sdk-v5 and this module, then a row for each of
// variants' builds (Config.StartupVariants), visited in the same rounds.
func StartupRows(variants ...Contestant) []StartupRow {
	return startupRows(variants, nil)
}

// startupRows are StartupRows, the rows of variants in immutable named so.
func startupRows(variants []Contestant, immutable []string) []StartupRow {
	rows := []StartupRow{
		{ID: StartupBare, Name: "bare page (no uploader)", Kind: KindBare},
		{ID: StartupCOS, Name: "cos-js-sdk-v5 " + COSSDKVersion + " (new COS)", Kind: KindCOS},
		{ID: StartupModule, Name: "smh-upload (await load(), Worker)", Kind: KindModule, Base: "/module"},
	}
	for _, v := range variants {
		name := "variant " + v.ID + ": smh-upload (await load(), Worker)"
		if slices.Contains(immutable, v.ID) {
			name += ", files served with a year's max-age"
		}
		rows = append(rows, StartupRow{ID: v.ID, Name: name, Kind: KindModule, Base: "/module-" + v.ID})
	}
	return rows
}

// wasmPath is the path of the row's smh.wasm on the page server.
func (row StartupRow) wasmPath() string { return row.Base + "/smh.wasm" }

// linger is how long a cold visit of a row without wasm stays on the page after it is ready, before
// its browser closes and the warm visit starts on its profile.
const linger = 3 * time.Second

// DefaultStartupStay is Config.StartupStay's default. V8 hands a compiled module to Chromium's code
// cache only once it has tiered up functions (TurboFan) and then compiled nothing new for a while, a
// timer that Chromium 156 ran 15 to 30 s after the page's start here (never within 10 s), later on a
// busy machine.
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
	Stay time.Duration   `json:"stay"`
	Rows []StartupResult `json:"rows"`
	Runs []StartupRun    `json:"runs"`
}

// startupPage is the start-up page of an uploader of kind: the README's first example for the module
// in folder base,
// a script tag and new COS() for cos-js-sdk-v5, nothing for the bare page; with preload, the README's
// preload tags. All three run the same inline module script around their uploader.
func startupPage(kind Kind, base string, preload bool) []byte {
	const cosSDK = "/cos/cos-js-sdk-v5.min.js"
	var head, imports, setup string
	switch kind {
	case KindModule:
		if preload {
			head = readmePreloads(base)
		}
		imports = `import { load } from "` + base + `/smh-upload.js";`
		setup = `const smh = await load();
  window.startupVersion = smh.version;`
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
	return `<link rel="modulepreload" href="` + b + `/smh-upload.js">` + "\n" +
		`<link rel="modulepreload" href="` + b + `/smh-upload-run.js">` + "\n" +
		`<link rel="preload" href="` + b + `/smh.wasm" as="fetch" type="application/wasm" crossorigin>` + "\n"
}

// runStartup runs rounds of every start-up row: in each round and for each row (their order rotated) a
// cold visit in a fresh profile, the warm visit on that profile, and a cold visit with preloads in
// another fresh profile.
func (h *harness) runStartup(ctx context.Context, srv *pageServer, rounds int) (*StartupTable, error) {
	rows := startupRows(h.cfg.StartupVariants, h.cfg.StartupImmutable)
	t := &StartupTable{Rounds: rounds, Stay: cmp.Or(h.cfg.StartupStay, DefaultStartupStay)}
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
				u := h.pageURL + "startup?kind=" + url.QueryEscape(string(row.Kind)) + "&base=" + url.QueryEscape(row.Base)
				if col == StartColdPreload {
					u += "&preload=1"
				}
				var stay time.Duration
				switch {
				case col != StartCold:
				case row.Kind == KindModule:
					stay = cmp.Or(h.cfg.StartupStay, DefaultStartupStay)
				default:
					stay = linger
				}
				r := h.visit(ctx, srv, profile, u, stay, row.Kind == KindModule, h.traceFile(row, col, round))
				r.Row, r.Column, r.Round = row.ID, col, round
				h.cfg.Logf("start-up round %d %-7s %-13s %s", round, row.ID, col, r.summary(row))
				t.Runs = append(t.Runs, r)
				h.noteVersion(row.Kind, r.Version)
				if col == StartCold {
					w := h.visit(ctx, srv, profile, u, 0, false, h.traceFile(row, StartWarm, round))
					w.Row, w.Column, w.Round = row.ID, StartWarm, round
					h.cfg.Logf("start-up round %d %-7s %-13s %s", round, row.ID, StartWarm, w.summary(row))
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

// traceFile is where the whole trace of a visit goes: a file in Config.StartupTraceDir for the
// module's row, else "" (no whole trace).
func (h *harness) traceFile(row StartupRow, col StartupColumn, round int) string {
	if h.cfg.StartupTraceDir == "" || row.Kind != KindModule {
		return ""
	}
	name := fmt.Sprintf("startup-%s-r%d.json", col, round)
	if row.ID != StartupModule {
		name = fmt.Sprintf("startup-%s-%s-r%d.json", row.ID, col, round)
	}
	return filepath.Join(h.cfg.StartupTraceDir, name)
}

// wholeTrace are the trace categories of a whole trace (Config.StartupTraceDir): the page's and the
// Worker's requests, script evaluations and tasks (the DevTools timeline), V8's execution and
// compilation, and the page's marks.
var wholeTrace = []string{"devtools.timeline", "disabled-by-default-devtools.timeline", "loading", "toplevel",
	"v8", "v8.execute", "v8.wasm", "blink.user_timing", "blink.worker", "disabled-by-default-network",
	"disabled-by-default-v8.wasm.detailed", "disabled-by-default-v8.cpu_profiler"}

// visit starts a browser on profile, lets it settle, and opens u with tracing of the wasm code cache
// on; it stays stay on the page after it is ready (with untilCached, only until the profile holds a
// wasm code cache entry), then closes the browser gracefully (so that its caches reach the disk).
// With traceTo, it traces the whole timeline until ready and writes it there.
func (h *harness) visit(parent context.Context, srv *pageServer, profile, u string, stay time.Duration, untilCached bool,
	traceTo string) (out StartupRun) {
	fail := func(format string, args ...any) StartupRun {
		out.Error = fmt.Sprintf(format, args...)
		return out
	}
	actx, cancelA := chromedp.NewExecAllocator(parent, headless.Options(h.cfg.Chromium, profile)...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(headless.Errorf(func(format string, args ...any) {
		h.cfg.Logf("chromium: "+format, args...)
	})))
	defer cancelB()
	ctx, cancelT := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelT()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// As for the uploads (runOne): chromedp enables DevTools' network domain, whose agent keeps a
		// copy of every response body it sees; for smh.wasm's 5 MB that took the page's main thread
		// ~40 ms between the end of the compile and the Worker's message in a trace. A user's browser
		// does none of that.
		_, err := cdp.Call(ctx, t, network.Disable, cdp.Empty{})
		return err
	})); err != nil {
		return fail("start the browser: %v", err)
	}
	if p := chromedp.FromContext(ctx).Browser.Process(); p != nil {
		// As for the uploads: headless Chromium goes on starting its UI for a moment; the page's
		// start-up should not compete with it.
		settle(p.Pid, 0.1, 200*time.Millisecond, 5*time.Second)
	}

	// The trace, browser-wide: while the page starts, V8's wasm events (cheap: a few hundred) and the
	// page's ready mark, which ties the trace's clock to the page's; then, while a cold visit stays,
	// Blink's code cache events too, which come with the whole DevTools timeline.
	tr, err := newTracer(ctx)
	if err != nil {
		return fail("tracing: %v", err)
	}
	categories := []string{"v8.wasm", "blink.user_timing"}
	if traceTo != "" {
		categories = wholeTrace
		tr.mu.Lock()
		tr.keep = true
		tr.mu.Unlock()
	}
	if err := tr.start(ctx, categories...); err != nil {
		return fail("tracing: %v", err)
	}
	srv.takeRequests()
	type pageData struct {
		Ready     float64        `json:"ready"`
		Error     string         `json:"error"`
		Version   string         `json:"version"`
		Origin    float64        `json:"origin"`
		Resources []pageResource `json:"resources"`
	}
	const collect = `({ready: globalThis.startupReady ?? 0, error: globalThis.startupError ?? "", version: globalThis.startupVersion ?? "", origin: performance.timeOrigin,
		resources: performance.getEntriesByType("resource").map((e) => ({name: e.name, start: e.startTime, end: e.responseEnd, size: e.transferSize}))})`
	pd, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (pageData, error) {
		if _, err := chromedp.Navigate(u)(ctx, t); err != nil {
			return pageData{}, err
		}
		if _, err := chromedp.Poll[chromedp.Void](`window.startupReady !== undefined`,
			chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))(ctx, t); err != nil {
			return pageData{}, err
		}
		return chromedp.Evaluate[pageData](collect)(ctx, t)
	})
	switch {
	case err != nil:
		return fail("load the page: %v", err)
	case pd.Error != "":
		return fail("start: %s", pd.Error)
	}
	out.ReadyMs, out.Version = pd.Ready, pd.Version
	out.Resources = map[string]ResourceTiming{}
	add := func(prefix string, offset float64, name string, start, end float64, size int64) {
		pu, err := url.Parse(name)
		if err != nil {
			return
		}
		// The page's timeline also holds the Worker's script and its static imports: a second fetch
		// of a file is named "file#2".
		key := prefix + path.Base(pu.Path)
		for n := 2; ; n++ {
			if _, dup := out.Resources[key]; !dup {
				break
			}
			key = fmt.Sprintf("%s%s#%d", prefix, path.Base(pu.Path), n)
		}
		out.Resources[key] = ResourceTiming{StartMs: start + offset, EndMs: end + offset, TransferBytes: size}
	}
	slices.SortFunc(pd.Resources, func(a, b pageResource) int { return cmp.Compare(a.Start, b.Start) })
	for _, r := range pd.Resources {
		add("", 0, r.Name, r.Start, r.End, r.Size)
	}
	// The Worker's own fetches are in its own timeline, on a clock that starts with it.
	if infos, err := chromedp.Targets(ctx); err == nil {
		for _, ti := range infos {
			if ti.Type != "worker" {
				continue
			}
			wctx, cancelW := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
			wd, err := chromedp.Run(wctx, chromedp.Evaluate[pageData](collect))
			cancelW()
			if err != nil {
				h.cfg.Logf("start-up: the Worker's timeline: %v", err)
				continue
			}
			for _, r := range wd.Resources {
				add("worker:", wd.Origin-pd.Origin, r.Name, r.Start, r.End, r.Size)
			}
		}
	}
	events, err := tr.stop(ctx)
	if err != nil {
		return fail("tracing: %v", err)
	}
	out.Wasm = wasmTrace(events, out.ReadyMs)
	if traceTo != "" {
		if err := tr.write(traceTo); err != nil {
			return fail("tracing: %v", err)
		}
	}
	if stay > 0 {
		if traceTo != "" {
			tr.mu.Lock()
			tr.keep = true
			tr.mu.Unlock()
		}
		if err := tr.start(ctx, "v8.wasm", "disabled-by-default-devtools.timeline"); err != nil {
			return fail("tracing: %v", err)
		}
		stayed := time.Now()
		for time.Since(stayed) < stay && !(untilCached && hasWasmCache(profile)) {
			if err := chromedp.Do(ctx, chromedp.Sleep(min(200*time.Millisecond, stay-time.Since(stayed)))); err != nil {
				return fail("stay: %v", err)
			}
		}
		out.StayMs = float64(time.Since(stayed).Microseconds()) / 1000
		later, err := tr.stop(ctx)
		if err != nil {
			return fail("tracing: %v", err)
		}
		out.Wasm.Cached = wasmTrace(later, 0).Cached
		if traceTo != "" {
			if err := tr.write(strings.TrimSuffix(traceTo, ".json") + "-stay.json"); err != nil {
				return fail("tracing: %v", err)
			}
		}
	}
	out.Requests = srv.takeRequests()
	// Close gracefully, so that the HTTP cache and the code cache are on disk for the warm visit.
	if err := chromedp.Cancel(ctx); err != nil {
		h.cfg.Logf("start-up: closing the browser: %v", err)
	}
	return out
}

// hasWasmCache reports whether Chromium's wasm code cache in profile holds an entry: a data file
// beside the cache's index, which Chromium writes when V8 hands it a module.
func hasWasmCache(profile string) bool {
	ents, err := os.ReadDir(filepath.Join(profile, "Default", "Code Cache", "wasm"))
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), "_0") {
			return true
		}
	}
	return false
}

// wasmTrace reads the wasm events of a trace: V8's streaming compilation (its end is when the module
// was compiled) and deserialization from the code cache, and Blink's code cache events when they were
// traced. The page's ready mark, at readyMs on the page's clock, places the compiled module on that
// clock.
func wasmTrace(events []traceEvent, readyMs float64) WasmTrace {
	var w WasmTrace
	var mark, compiled float64
	for _, e := range events {
		switch e.Name {
		case "wasm.StartStreamingCompilation":
			w.Streamed++
		case "wasm.FinishStreaming":
			compiled = max(compiled, e.Ts+e.Dur)
		case "wasm.Deserialize", "v8.wasm.moduleCacheHit":
			w.CacheHit++
			compiled = max(compiled, e.Ts+e.Dur)
		case "v8.wasm.cachedModule":
			w.Cached++
		case "smh-bench-ready":
			if mark == 0 || e.Ts < mark {
				mark = e.Ts
			}
		}
	}
	w.Compiled = max(w.Streamed-w.CacheHit, 0)
	if mark > 0 && compiled > 0 {
		w.CompiledMs = readyMs - (mark-compiled)/1000
	}
	return w
}

// aggregateStartup makes the table's cells: medians per row and column, and each row's difference
// from the bare page's median in the same column.
func aggregateStartup(rows []StartupRow, runs []StartupRun) []StartupResult {
	out := make([]StartupResult, 0, len(rows))
	for _, row := range rows {
		res := StartupResult{StartupRow: row, Cells: map[StartupColumn]StartupCell{}}
		for _, col := range StartupColumns {
			var c StartupCell
			var ok []StartupRun
			for _, r := range runs {
				if r.Row != row.ID || r.Column != col {
					continue
				}
				c.Runs++
				if r.Error != "" {
					c.Failed++
					continue
				}
				ok = append(ok, r)
				if r.Wasm.CacheHit > 0 {
					c.CacheHits++
				}
				if r.Wasm.Compiled > 0 {
					c.Compiles++
				}
				c.WasmRequests = max(c.WasmRequests, r.Requests[row.wasmPath()])
			}
			c.ReadyMs = median(collectStartup(ok, func(r StartupRun) float64 { return r.ReadyMs }))
			if row.Kind == KindModule && len(ok) > 0 {
				c.Path = criticalPath(ok)
			}
			res.Cells[col] = c
		}
		out = append(out, res)
	}
	var bare StartupResult
	for _, r := range out {
		if r.Kind == KindBare {
			bare = r
		}
	}
	for i := range out {
		for _, col := range StartupColumns {
			c := out[i].Cells[col]
			if b := bare.Cells[col]; b.Runs > b.Failed && c.Runs > c.Failed {
				c.OverBare = c.ReadyMs - b.ReadyMs
			}
			out[i].Cells[col] = c
		}
	}
	return out
}

// criticalPath is the median arrival of each file the module fetches, of its compiled module and of
// its ready time, over runs.
func criticalPath(runs []StartupRun) map[string]float64 {
	p := map[string]float64{}
	names := map[string]bool{}
	for _, r := range runs {
		for n := range r.Resources {
			names[n] = true
		}
	}
	for n := range names {
		if !isModuleFile(n) {
			continue
		}
		var v []float64
		for _, r := range runs {
			if t, ok := r.Resources[n]; ok {
				v = append(v, t.EndMs)
			}
		}
		p[n] = median(v)
	}
	var compiled []float64
	for _, r := range runs {
		if r.Wasm.CompiledMs > 0 {
			compiled = append(compiled, r.Wasm.CompiledMs)
		}
	}
	if len(compiled) > 0 {
		p["compiled"] = median(compiled)
	}
	p["ready"] = median(collectStartup(runs, func(r StartupRun) float64 { return r.ReadyMs }))
	return p
}

// isModuleFile reports whether a resource name is one of the module's files.
func isModuleFile(name string) bool {
	n := strings.TrimPrefix(name, "worker:")
	return n == "smh.wasm" || n == "wasm_exec.js" || strings.HasPrefix(n, "smh-upload")
}

// PathOrder sorts a critical path's names by arrival.
func PathOrder(p map[string]float64) []string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

func collectStartup(runs []StartupRun, f func(StartupRun) float64) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = f(r)
	}
	return out
}

// startupCell is "ready (+over the bare page)" ms, or what went wrong.
func startupCell(row StartupResult, col StartupColumn) string {
	c := row.Cells[col]
	switch {
	case c.Runs == 0:
		return "—"
	case c.Failed == c.Runs:
		return "failed"
	}
	s := fmt.Sprintf("%.0f", c.ReadyMs)
	if row.Kind != KindBare {
		s += fmt.Sprintf(" (%+.0f)", c.OverBare)
	}
	if c.Failed > 0 {
		s += fmt.Sprintf(", %d of %d failed", c.Failed, c.Runs)
	}
	return s
}

var startupHeads = map[StartupColumn]string{
	StartCold:        "cold, no preload",
	StartColdPreload: "cold, README's preload tags",
	StartWarm:        "warm (second visit, same profile)",
}

// writeStartupNotes writes what the table's cells do not say: sizes, the code cache, the preload's
// reuse and the module's critical path, one line each, each prefixed by lead.
func (rep *Report) writeStartupNotes(w io.Writer, lead string) {
	st := rep.Startup
	fmt.Fprintf(w, "%ssmh.wasm%s: %d bytes raw, %d gzip -9, %d Brotli 11 (served precompressed, Brotli first, by the demo's static handler).\n",
		lead, strings.TrimRight(" "+rep.Module, " "), rep.WasmRaw, rep.WasmGzip, rep.WasmBrotli)
	for _, row := range st.Rows {
		if row.Kind != KindModule {
			continue
		}
		cold, pre, warm := row.Cells[StartCold], row.Cells[StartColdPreload], row.Cells[StartWarm]
		cached := 0
		var stays []float64
		for _, r := range st.Runs {
			if r.Row == row.ID && r.Column == StartCold && r.Error == "" {
				if r.Wasm.Cached > 0 {
					cached++
				}
				stays = append(stays, r.StayMs)
			}
		}
		fmt.Fprintf(w, "%sV8's wasm code cache: written after %d of %d cold visits, which stayed on the page until it was (at most %s; median %.1f s); the warm visit took smh.wasm from it in %d of %d runs and compiled it in %d.\n",
			lead, cached, cold.Runs, cmp.Or(st.Stay, DefaultStartupStay), median(stays)/1000, warm.CacheHits, warm.Runs, warm.Compiles)
		fmt.Fprintf(w, "%ssmh.wasm requests per visit, at most: %d cold, %d with the preload tags (1: load() reused the preload), %d warm (a 304 counts).\n",
			lead, cold.WasmRequests, pre.WasmRequests, warm.WasmRequests)
		for _, col := range StartupColumns {
			p := row.Cells[col].Path
			if len(p) == 0 {
				continue
			}
			var steps []string
			for _, n := range PathOrder(p) {
				steps = append(steps, fmt.Sprintf("%s %.0f", n, p[n]))
			}
			fmt.Fprintf(w, "%s%s, %s: %s.\n", lead, row.Name, startupHeads[col], strings.Join(steps, " → "))
		}
	}
}

// writeStartupText writes the start-up table for a terminal.
func (rep *Report) writeStartupText(w io.Writer) {
	st := rep.Startup
	fmt.Fprintf(w, "\nstart-up, ms from navigation to ready (+ over the bare page), median of %d round(s):\n", st.Rounds)
	fmt.Fprintf(w, "%-42s", "")
	for _, col := range StartupColumns {
		fmt.Fprintf(w, " %34s", startupHeads[col])
	}
	fmt.Fprintln(w)
	for _, row := range st.Rows {
		fmt.Fprintf(w, "%-42s", row.Name)
		for _, col := range StartupColumns {
			fmt.Fprintf(w, " %34s", startupCell(row, col))
		}
		fmt.Fprintln(w)
	}
	rep.writeStartupNotes(w, "")
	for _, r := range st.Runs {
		if r.Error != "" {
			fmt.Fprintf(w, "failed, start-up %s %s round %d: %s\n", r.Row, r.Column, r.Round, r.Error)
		}
	}
}

// writeStartupMarkdown writes the README's start-up table.
func (rep *Report) writeStartupMarkdown(w io.Writer, command string) {
	st := rep.Startup
	header := []string{fmt.Sprintf("start-up: ms from navigation to ready (+ over the bare page), median of %d rounds", st.Rounds)}
	for _, col := range StartupColumns {
		header = append(header, startupHeads[col])
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, row := range st.Rows {
		cells := []string{row.Name}
		for _, col := range StartupColumns {
			cells = append(cells, startupCell(row, col))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintf(w, "\nHeadless %s, %d CPUs (load average %s at the start, %s at the end), loopback. `%s`, %s.\n\n",
		rep.Machine.Chromium, rep.Machine.CPUs, rep.Machine.LoadStart, rep.Machine.LoadEnd, command, rep.Date.Format("2006-01-02"))
	rep.writeStartupNotes(w, "- ")
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
