//go:build !js

package bench

// One run: a fresh Chromium uploads the file once for one contestant, measured from /proc and DevTools.

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/profiler"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/smhupload/smh-upload/internal/headless"
	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
)

// snapshot is the state of the browser and the server at one instant.
type snapshot struct {
	at      time.Time
	metrics map[string]float64
	procs   map[int]procInfo
	server  float64 // CPU seconds of this process
	busy    float64 // CPU seconds of the whole machine
}

func (h *harness) snap(ctx context.Context, browserPid int) (snapshot, error) {
	s := snapshot{at: time.Now(), procs: processTree(browserPid), server: selfCPU(), busy: busyCPU()}
	res, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (*performance.GetMetricsResult, error) {
		r, err := cdp.Call(ctx, t, performance.GetMetrics, cdp.Empty{})
		return &r, err
	})
	if err != nil {
		return s, err
	}
	s.metrics = map[string]float64{}
	for _, m := range res.Metrics {
		s.metrics[m.Name] = m.Value
	}
	return s, nil
}

// runOne uploads the source once with c in a new browser.
// browser starts a fresh headless Chromium on a new profile in the work
// folder, for one run within RunTimeout; stop ends it and removes the profile.
func (h *harness) browser(parent context.Context) (ctx context.Context, stop func(), err error) {
	profile, err := os.MkdirTemp(h.cfg.WorkDir, "profile-")
	if err != nil {
		return nil, nil, err
	}
	var extra []chromedp.ExecAllocatorOption
	if h.cert != nil {
		// This browser alone accepts the emulator's throwaway certificate, by the hash of its public key
		// (Chromium honours the list only with a --user-data-dir, which every run has): any other
		// certificate error still fails, unlike with --ignore-certificate-errors.
		extra = append(extra, chromedp.Flag("ignore-certificate-errors-spki-list", spkiHash(h.cert)))
	}
	actx, cancelA := chromedp.NewExecAllocator(parent, headless.Options(h.cfg.Chromium, profile, extra...)...)
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(headless.Errorf(func(format string, args ...any) {
		h.cfg.Logf("chromium: "+format, args...)
	})))
	ctx, cancelT := context.WithTimeout(bctx, h.cfg.RunTimeout)
	return ctx, func() {
		cancelT()
		cancelB()
		cancelA()
		os.RemoveAll(profile)
	}, nil
}

// spkiHash is the base64 SHA-256 of cert's SubjectPublicKeyInfo, as Chromium's
// --ignore-certificate-errors-spki-list takes it.
func spkiHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// benchReady is what a bench page (the upload page or the queue page) reports once it has loaded its
// uploader: window.benchStart (when it started loading it, 0 if it does not say), benchReady,
// benchError and benchVersion.
type benchReady struct {
	Start   float64 `json:"start"`
	Ready   float64 `json:"ready"`
	Error   string  `json:"error"`
	Version string  `json:"version"`
}

// openBenchPage opens the bench page at pageURL with cfg as its ?cfg= JSON and waits, at most
// timeout, until it has loaded its uploader. Its errors say which step failed: loading the page, or
// the page's own preparation (benchError).
func openBenchPage(ctx context.Context, pageURL string, cfg any, timeout time.Duration) (benchReady, error) {
	js, err := json.Marshal(cfg)
	if err != nil {
		return benchReady{}, err
	}
	rd, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (benchReady, error) {
		if _, err := chromedp.Navigate(pageURL+"?cfg="+url.QueryEscape(string(js)))(ctx, t); err != nil {
			return benchReady{}, err
		}
		if _, err := chromedp.Poll[chromedp.Void](`window.benchReady !== undefined`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout))(ctx, t); err != nil {
			return benchReady{}, err
		}
		return chromedp.Evaluate[benchReady](`({start: window.benchStart ?? 0, ready: window.benchReady, error: window.benchError ?? "", version: window.benchVersion ?? ""})`)(ctx, t)
	})
	switch {
	case err != nil:
		return rd, fmt.Errorf("load the page: %w", err)
	case rd.Error != "":
		return rd, fmt.Errorf("prepare: %s", rd.Error)
	}
	return rd, nil
}

func (h *harness) runOne(parent context.Context, c Contestant, round int) (out RunResult) {
	out = RunResult{Contestant: c.ID, Round: round}
	fail := func(format string, args ...any) RunResult {
		out.Error = fmt.Sprintf(format, args...)
		return out
	}
	ctx, stopBrowser, err := h.browser(parent)
	if err != nil {
		return fail("profile: %v", err)
	}
	defer stopBrowser()

	path := fmt.Sprintf("bench/%s-r%d.bin", c.ID, round)
	pc := pageConfig{Kind: c.Kind, Verify: c.Verify, InPage: c.InPage, Warm: c.Warm, PartSize: c.PartSize, Concurrency: c.Concurrency, Body: c.Body,
		pageTargets: h.pageTargets(path)}
	if c.ModuleDir != "" {
		pc.ModuleBase = "/module-" + c.ID
	}
	rd, err := openBenchPage(ctx, h.pageURL, pc, time.Minute)
	if err != nil {
		return fail("%v", err)
	}
	out.ReadyMs, out.StartMs = rd.Ready, rd.Ready-rd.Start
	h.mu.Lock()
	if c.Kind == KindModule && c.ModuleDir == "" {
		h.moduleV = rd.Version
	} else if c.Kind == KindCOS {
		h.cosV = rd.Version
	}
	h.mu.Unlock()

	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{h.src}),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			// chromedp enables DevTools' network domain, which makes the renderer keep and send a copy of
			// every request body it can see (an ArrayBuffer body: all of it, base64-encoded, to this
			// process); a user's browser does none of that. Measured with plain XHR PUTs of 8 MiB
			// ArrayBuffers: 5 MiB/s and 300 core·s per GiB with it enabled.
			if _, err := cdp.Call(ctx, t, network.Disable, cdp.Empty{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, performance.Enable, performance.EnableParams{})
			return err
		})); err != nil {
		return fail("set the file: %v", err)
	}
	var browserPid int
	if p := chromedp.FromContext(ctx).Browser.Process(); p != nil {
		browserPid = p.Pid
	}

	// Headless Chromium goes on starting its own UI for a second or two after the page is ready: let it
	// finish, so that the upload's figures are the upload's. Measured with plain XHR at 256 MiB: the UI's
	// renderer alone added about 0.5 core·s to the upload's window.
	if !settle(browserPid, 0.1, 200*time.Millisecond, 5*time.Second) {
		h.cfg.Logf("%s round %d: Chromium was still busy after 5 s; measuring anyway", c.ID, round)
	}

	// Baselines, then the upload with memory sampled every 50 ms.
	heap0, err := heapUsage(ctx)
	if err != nil {
		return fail("heap usage: %v", err)
	}
	h.emu.ResetCounts()
	s0, err := h.snap(ctx, browserPid)
	if err != nil {
		return fail("metrics: %v", err)
	}
	// Renderer RSS: every renderer of this browser, its first reading as its baseline (a renderer that
	// starts during the upload counts from zero).
	rss0, rssPeak := map[int]int64{}, map[int]int64{}
	sampleRSS := func(procs map[int]procInfo) {
		for pid, p := range procs {
			if p.kind != "renderer" || p.webUI {
				continue
			}
			v := residentBytes(pid)
			if _, seen := rss0[pid]; !seen {
				rss0[pid] = v
				if s0.procs[pid].pid == 0 {
					rss0[pid] = 0
				}
			}
			rssPeak[pid] = max(rssPeak[pid], v)
		}
	}
	sampleRSS(s0.procs)
	stop := make(chan struct{})
	var sampled sync.WaitGroup
	heapPeak, abPeak := heap0.UsedSize, heap0.BackingStorageSize
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		procs := s0.procs
		for i := 1; ; i++ {
			if i%20 == 0 {
				procs = processTree(browserPid)
			}
			sampleRSS(procs)
			// The JS heap every 250 ms: each reading is a DevTools command that the page's renderer
			// answers, work that a user's page does not do (every 50 ms, it cost the limit's renderer
			// about 1 core·s per GiB).
			if i%5 == 1 {
				if hu, err := heapUsage(ctx); err == nil {
					heapPeak, abPeak = max(heapPeak, hu.UsedSize), max(abPeak, hu.BackingStorageSize)
				}
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	profiled, err := h.startProfiles(ctx)
	if err != nil {
		return fail("%v", err)
	}
	defer profiled.cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[pageResult](`window.bench.run()`, chromedp.EvalAwaitPromise))
	s1, serr := h.snap(ctx, browserPid)
	close(stop)
	sampled.Wait()
	if err == nil {
		h.stopProfiles(profiled, fmt.Sprintf("%s-r%d", c.ID, round))
	}
	switch {
	case err != nil:
		return fail("upload: %v", err)
	case res.Error != "":
		return fail("upload: %s", res.Error)
	case serr != nil:
		return fail("metrics: %v", serr)
	}

	// Throughput and the page's own measurements.
	out.Bytes, out.Seconds = res.Bytes, res.Ms/1000
	out.MiBps = mib(res.Bytes) / out.Seconds
	out.Stalls, out.LongestMs = res.Stalls, max(res.MaxLateMs, 0)
	out.LongTasks, out.LongTaskMs = res.LongTasks, res.LongTaskMs
	out.WasmGrowth, out.WasmPeak = res.WasmPeak-res.WasmStart, res.WasmPeak

	// CPU, as cores over the wall time between the snapshots.
	wall := s1.at.Sub(s0.at).Seconds()
	d := func(name string) float64 { return (s1.metrics[name] - s0.metrics[name]) / wall }
	devtools := d("DevToolsCommandDuration") // the harness's own polling, not the page's work
	out.MainBusy = max(d("TaskDuration")-devtools, 0)
	out.MainScript = d("ScriptDuration")
	out.MainCPU = d("ThreadTime")
	var rendererPid int
	var best float64 = -1
	for pid, p := range s1.procs {
		delta := p.cpu - s0.procs[pid].cpu
		out.BrowserCPU += delta / wall
		if p.kind == "renderer" && delta > best {
			best, rendererPid = delta, pid
		}
	}
	out.RendererCPU = max(best, 0) / wall
	out.ServerCPU = (s1.server - s0.server) / wall
	out.PerGiB = perGiB(s0, s1, res.Bytes)
	if s1.busy > 0 {
		out.OutsideCores = max((s1.busy-s0.busy)-out.PerGiB.Total*float64(res.Bytes)/(1<<30), 0) / wall
		out.Noisy = out.OutsideCores > NoisyCores
	}

	// Memory.
	out.HeapPeak = int64(heapPeak)
	out.HeapGrowth = int64(heapPeak - heap0.UsedSize)
	out.ABGrowth = int64(abPeak - heap0.BackingStorageSize)
	if rendererPid != 0 {
		out.RSSPeak = rssPeak[rendererPid]
		out.RSSGrowth = rssPeak[rendererPid] - rss0[rendererPid]
	}

	// Requests, as the emulator counted them.
	out.Requests = h.emu.Counts()
	for op, n := range out.Requests {
		if op != "part.expired" && op != "confirm.crc64" {
			out.RequestsAll += n
		}
	}
	out.ConfirmCRC = out.Requests["confirm.crc64"] > 0
	out.Parts = partsOf(c, res, h.cfg.Size)
	if out.Parts > 0 {
		out.PerPart = float64(out.RequestsAll) / float64(out.Parts)
	}

	// The bytes: what the emulator stored must be the source.
	var fi emulator.FileInfo
	if c.Kind == KindCOS {
		fi, err = h.emu.ObjectInfo(path)
	} else {
		fi, err = h.emu.FileInfo("-", path)
	}
	if err != nil {
		return fail("stored file: %v", err)
	}
	out.StoredSize, out.StoredCRC64 = fi.Size, smh.FormatCRC64(fi.CRC64)
	out.Verified = fi.Size == h.cfg.Size && fi.CRC64 == h.srcCRC
	if !out.Verified {
		out.Error = fmt.Sprintf("stored %d bytes with CRC-64 %s, the source has %d bytes with %s",
			fi.Size, out.StoredCRC64, h.cfg.Size, smh.FormatCRC64(h.srcCRC))
	} else if res.CRC64 != "" && res.CRC64 != out.StoredCRC64 {
		out.Error = fmt.Sprintf("the uploader reported CRC-64 %s, the emulator stored %s", res.CRC64, out.StoredCRC64)
	}
	return out
}

// profiledTarget is a page or Worker whose V8 CPU profile is taken during an upload.
type profiledTarget struct {
	ctx  context.Context
	name string
}

// profiles are the targets profiled during one run; cancel detaches from the Workers.
type profiles struct {
	targets []profiledTarget
	cancels []context.CancelFunc
}

func (p *profiles) cancel() {
	for _, c := range p.cancels {
		c()
	}
}

// startProfiles starts V8's profiler, when Config.ProfileDir is set, in the page of ctx and in each
// dedicated Worker it started (the module's).
func (h *harness) startProfiles(ctx context.Context) (*profiles, error) {
	p := &profiles{}
	if h.cfg.ProfileDir == "" {
		return p, nil
	}
	if err := os.MkdirAll(h.cfg.ProfileDir, 0o755); err != nil {
		return nil, err
	}
	p.targets = append(p.targets, profiledTarget{ctx, "page"})
	if infos, err := chromedp.Targets(ctx); err == nil {
		for _, ti := range infos {
			if ti.Type == "worker" {
				wctx, cancelW := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
				p.cancels = append(p.cancels, cancelW)
				p.targets = append(p.targets, profiledTarget{wctx, "worker"})
			}
		}
	}
	for _, t := range p.targets {
		if err := startProfile(t.ctx); err != nil {
			p.cancel()
			return nil, fmt.Errorf("profiler (%s): %w", t.name, err)
		}
	}
	return p, nil
}

// stopProfiles writes each profile to ProfileDir/PREFIX-NAME.cpuprofile.
func (h *harness) stopProfiles(p *profiles, prefix string) {
	for _, t := range p.targets {
		file := filepath.Join(h.cfg.ProfileDir, fmt.Sprintf("%s-%s.cpuprofile", prefix, t.name))
		if err := stopProfile(t.ctx, file); err != nil {
			h.cfg.Logf("profile %s (%s): %v", prefix, t.name, err)
		}
	}
}

// startProfile starts V8's sampling profiler (every 200 µs) in the target of ctx. Attaching enables
// DevTools' network domain there, which costs the target what runOne explains; it is disabled again.
func startProfile(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Disable, cdp.Empty{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, profiler.Enable, cdp.Empty{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 200}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, profiler.Start, cdp.Empty{})
		return err
	}))
}

// stopProfile stops the profiler of ctx's target and writes its profile to file, for Chrome DevTools'
// Performance panel.
func stopProfile(ctx context.Context, file string) error {
	prof, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (profiler.StopResult, error) {
		return cdp.Call(ctx, t, profiler.Stop, cdp.Empty{})
	})
	if err != nil {
		return err
	}
	b, err := json.Marshal(prof.Profile)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// perGiB is the CPU that each class of process spent between s0 and s1, per GiB of n bytes. A process
// that started after s0 counts from zero; one that ended before s1 is not seen (Chromium keeps its
// processes for the life of the page).
func perGiB(s0, s1 snapshot, n int64) CPUPerGiB {
	var c CPUPerGiB
	if n <= 0 {
		return c
	}
	gib := float64(n) / (1 << 30)
	for pid, p := range s1.procs {
		d := (p.cpu - s0.procs[pid].cpu) / gib
		switch p.class() {
		case ClassBrowser:
			c.Browser += d
		case ClassRenderer:
			c.Renderer += d
		case ClassNetwork:
			c.Network += d
		case ClassGPU:
			c.GPU += d
		default:
			c.Other += d
		}
	}
	c.Chromium = c.Browser + c.Renderer + c.Network + c.GPU + c.Other
	c.Server = (s1.server - s0.server) / gib
	c.Total = c.Chromium + c.Server
	return c
}

func heapUsage(ctx context.Context) (cdpruntime.GetHeapUsageResult, error) {
	return chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (cdpruntime.GetHeapUsageResult, error) {
		return cdp.Call(ctx, t, cdpruntime.GetHeapUsage, cdp.Empty{})
	})
}

// partsOf is the number of parts the contestant sends for size bytes.
func partsOf(c Contestant, res pageResult, size int64) int {
	switch c.Kind {
	case KindModule:
		if res.Parts > 0 {
			return res.Parts // from the module's progress
		}
		ps, err := smh.PlanPartSize(size, c.PartSize)
		if err != nil {
			return 0
		}
		return int((size + ps - 1) / ps)
	case KindCOS:
		// sliceUploadFile: ChunkSize (default 1 MiB), grown through 1, 2, 4, … 5120 MiB until the file
		// needs at most 10,000 parts.
		ps := c.PartSize
		if ps == 0 {
			ps = MiB
		}
		for _, m := range []int64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 5120} {
			if size/(m*MiB) <= 10000 || m == 5120 {
				ps = max(ps, m*MiB)
				break
			}
		}
		return int((size + ps - 1) / ps)
	default:
		return res.Parts
	}
}
