//go:build !js

package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/smhupload/smh-upload/smh"
)

// One queue run: a fresh browser on queue.html, its figures and the files it
// stored, checked on the emulator.

// queuePageConfig is what queue.js reads from ?cfg=.
type queuePageConfig struct {
	Kind        string         `json:"kind"`
	InPage      bool           `json:"inPage,omitempty"`
	Options     map[string]any `json:"options,omitempty"` // the queue's, beyond its defaults
	Scenario    string         `json:"scenario"`
	Files       int            `json:"files"`
	FileSize    int64          `json:"fileSize"`
	pageTargets                // Path: the folder the files go to
	IdleMs      int64          `json:"idleMs,omitempty"` // the idle row's time
}

// lagFigures are lag.js's.
type lagFigures struct {
	Ticks      int     `json:"ticks"`
	Stalls     int     `json:"stalls"`
	MaxLateMs  float64 `json:"maxLateMs"`
	LongTasks  int     `json:"longTasks"`
	LongTaskMs float64 `json:"longTaskMs"`
}

// queuePageResult is what window.queueBench.run() resolves with.
type queuePageResult struct {
	Error         string     `json:"error"`
	Ms            float64    `json:"ms"`
	AddMs         float64    `json:"addMs"`
	Files         int        `json:"files"`
	Bytes         int64      `json:"bytes"`
	Done          int        `json:"done"`
	Failed        int        `json:"failed"`
	Errors        []string   `json:"errors"`
	ProgressCalls int        `json:"progressCalls"`
	FileEvents    int        `json:"fileEvents"`
	Lag           lagFigures `json:"lag"`
	AddLag        lagFigures `json:"addLag"`
}

// runQueueOne runs one contestant once in a new browser and checks what the emulator stored.
func (h *queueHarness) runQueueOne(parent context.Context, sc string, c QueueContestant, round int, files []queueFile, rep *QueueReport) (out QueueRun) {
	out = QueueRun{Scenario: sc, Protocol: h.proto, Contestant: c.ID, Round: round, Files: len(files)}
	if h.cfg.Link != nil {
		out.Link = h.cfg.Link.String()
	}
	fail := func(format string, args ...any) QueueRun {
		out.Error = fmt.Sprintf(format, args...)
		return out
	}
	ctx, stop, err := h.browser(parent)
	if err != nil {
		return fail("profile: %v", err)
	}
	defer stop()

	leg := "loopback"
	if out.Link != "" {
		leg = "link"
	}
	folder := fmt.Sprintf("bench/q-%s-%s-%s-r%d", sc, leg, c.ID, round)
	if c.Kind == QueueKindSingle || c.Kind == QueueKindSequential {
		// upload() takes a full path; the queue creates its folders itself (and the request counts).
		if err := h.emu.CreateDirectory("-", folder); err != nil {
			return fail("create %s: %v", folder, err)
		}
	}
	pc := queuePageConfig{Kind: c.Kind, InPage: c.InPage, Options: c.Options, Scenario: sc, pageTargets: h.pageTargets(folder)}
	switch {
	case c.Kind == QueueKindIdle:
		pc.IdleMs = h.idle.Milliseconds()
	case sc != ScenarioLarge:
		pc.Files, pc.FileSize = len(files), files[0].size
	}
	rd, err := openBenchPage(ctx, h.pageURL, pc, 2*time.Minute)
	if err != nil {
		return fail("%v", err)
	}
	switch c.Kind {
	case QueueKindIdle:
	case QueueKindCOS:
		rep.COSSDK = rd.Version
	default:
		rep.Module = rd.Version
	}
	actions := []chromedp.Action[chromedp.Void]{chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// As in runOne: DevTools' network domain would copy every request body.
		if _, err := cdp.Call(ctx, t, network.Disable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, performance.Enable, performance.EnableParams{})
		return err
	})}
	if sc == ScenarioLarge {
		var paths []string
		for _, f := range files {
			paths = append(paths, f.local)
		}
		actions = append([]chromedp.Action[chromedp.Void]{chromedp.SetUploadFiles(chromedp.CSS(`#files`), paths)}, actions...)
	}
	if err := chromedp.Do(ctx, actions...); err != nil {
		return fail("set up the page: %v", err)
	}
	var browserPid int
	if p := chromedp.FromContext(ctx).Browser.Process(); p != nil {
		browserPid = p.Pid
	}
	if !settle(browserPid, 0.1, 200*time.Millisecond, 5*time.Second) {
		h.cfg.Logf("%s %s round %d: Chromium was still busy after 5 s; measuring anyway", sc, c.ID, round)
	}

	h.emu.ResetCounts()
	h.protos.take()
	out.LoadStart = loadAverage()
	s0, err := h.snap(ctx, browserPid)
	if err != nil {
		return fail("metrics: %v", err)
	}
	profiled, err := h.startProfiles(ctx)
	if err != nil {
		return fail("%v", err)
	}
	defer profiled.cancel()
	var tr *tracer
	if h.trace != "" {
		if tr, err = h.startTrace(ctx); err != nil {
			return fail("trace: %v", err)
		}
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[queuePageResult](`window.queueBench.run()`, chromedp.EvalAwaitPromise))
	if tr != nil {
		if terr := h.stopTrace(ctx, tr, fmt.Sprintf("%s-%s-r%d.json", sc, c.ID, round)); terr != nil {
			h.cfg.Logf("trace: %v", terr)
		}
	}
	s1, serr := h.snap(ctx, browserPid)
	if err == nil {
		h.stopProfiles(profiled, fmt.Sprintf("%s-%s-r%d", sc, c.ID, round))
	}
	switch {
	case err != nil:
		return fail("upload: %v", err)
	case res.Error != "":
		return fail("upload: %s", res.Error)
	case serr != nil:
		return fail("metrics: %v", serr)
	case res.Failed > 0:
		return fail("%d of %d files failed: %v", res.Failed, len(files), res.Errors)
	case c.Kind != QueueKindIdle && res.Done != len(files):
		return fail("the page counted %d of %d files done", res.Done, len(files))
	}

	out.Bytes, out.Seconds, out.AddMs = res.Bytes, res.Ms/1000, res.AddMs
	out.FilesPerSec = float64(len(files)) / out.Seconds
	out.MiBps = mib(res.Bytes) / out.Seconds
	out.Stalls, out.LongestMs, out.LongTasks = res.Lag.Stalls, res.Lag.MaxLateMs, res.Lag.LongTasks
	out.AddStalls, out.AddLongestMs = res.AddLag.Stalls, res.AddLag.MaxLateMs
	out.ProgressCalls, out.FileEvents = res.ProgressCalls, res.FileEvents
	out.Cores, out.CPU, out.OutsideCores = cpuBetween(s0, s1)
	out.Noisy = out.OutsideCores > NoisyCores

	out.Requests = h.emu.Counts()
	out.ServerProtocols, out.Connections = h.protos.take()
	out.PutPeak = out.Requests["put.peak"]
	for op, n := range out.Requests {
		if !notRequest[op] {
			out.RequestsAll += n
		}
	}

	if c.Kind == QueueKindIdle {
		out.Files, out.FilesPerSec, out.Verified = 0, 0, true
		return out
	}
	// The protocol: what the emulator saw of every request, and what Chromium says of one to each host.
	// A leg that did not speak its protocol throughout measured something else: the run fails.
	if out.NextHop, err = nextHops(ctx, h.endpoint, h.cosEndpoint); err != nil {
		return fail("nextHopProtocol: %v", err)
	}
	if msg := protocolMismatch(h.proto, out.NextHop, out.ServerProtocols); msg != "" {
		return fail("protocol: %s", msg)
	}

	// Every file, as the emulator holds it.
	var bad []string
	for _, f := range files {
		p := folder + "/" + f.name
		get := func() (int64, uint64, error) {
			fi, err := h.emu.FileInfo("-", p)
			return fi.Size, fi.CRC64, err
		}
		if c.Kind == QueueKindCOS {
			get = func() (int64, uint64, error) {
				fi, err := h.emu.ObjectInfo(p)
				return fi.Size, fi.CRC64, err
			}
		}
		sz, crc, err := get()
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", p, err))
		case sz != f.size || crc != f.crc:
			bad = append(bad, fmt.Sprintf("%s: stored %d bytes, CRC-64 %s; the source has %d, %s", p, sz, smh.FormatCRC64(crc), f.size, smh.FormatCRC64(f.crc)))
		default:
			out.Stored++
		}
	}
	out.Verified = len(bad) == 0
	if !out.Verified {
		out.Error = fmt.Sprintf("%d of %d files not stored right, e.g. %s", len(bad), len(files), bad[0])
	}
	return out
}
