//go:build !js

package bench

import (
	"cmp"
	"context"
	"fmt"
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

// One start-up visit: a browser on a start-up page, cold or warm, its
// resources' timings, V8's wasm code cache and, on request, its whole trace.

// traceFile is where the whole trace of a visit goes: a file in Config.StartupTraceDir for the
// rows that compile smh.wasm, else "" (no whole trace).
func (h *harness) traceFile(row StartupRow, col StartupColumn, round int) string {
	if h.cfg.StartupTraceDir == "" || !row.hasWasm() {
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
	browserPid := 0
	if p := chromedp.FromContext(ctx).Browser.Process(); p != nil {
		browserPid = p.Pid
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
	var cpuBefore, cpuAfter map[string]float64
	pd, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (pageData, error) {
		cpuBefore = threadCPU(browserPid)
		if _, err := chromedp.Navigate(u)(ctx, t); err != nil {
			return pageData{}, err
		}
		if _, err := chromedp.Poll[chromedp.Void](`window.startupReady !== undefined`,
			chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))(ctx, t); err != nil {
			return pageData{}, err
		}
		cpuAfter = threadCPU(browserPid)
		return chromedp.Evaluate[pageData](collect)(ctx, t)
	})
	switch {
	case err != nil:
		return fail("load the page: %v", err)
	case pd.Error != "":
		return fail("start: %s", pd.Error)
	}
	out.ReadyMs, out.Version = pd.Ready, pd.Version
	out.CPUMs = map[string]float64{}
	for k, v := range cpuAfter {
		if d := v - cpuBefore[k]; d > 0 {
			out.CPUMs[k] = d
		}
	}
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
