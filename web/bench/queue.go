//go:build !js

package bench

// The queue benchmark of issue #17: many files through smh.queue(), measured from headless Chromium
// against the emulator, with cos-js-sdk-v5's uploadFiles and the module's own single-file upload as the
// baselines in the same run. Three scenarios:
//
//   - small: 1,000 files × 16 KiB, generated in the page, on loopback and through the shaped link
//     (40 ms RTT), each over HTTP/1.1 (plain HTTP) and over HTTP/2 (HTTPS, as the real SMH and COS
//     hosts speak it): files per second of the queue and of cos-js-sdk-v5 uploadFiles (both with
//     their defaults), CPU per file per process, requests per file by kind, and the protocol the
//     browser and the emulator saw.
//   - large: 20 files × 32 MiB on disk through the queue, against one file of the same 640 MiB (the
//     same bytes: the 20 files are its pieces) with upload(), the module's single-file figure, and the
//     20 files with upload() one after the other.
//   - many: 10,000 files of 1 byte added to one queue at once and uploaded, the page rendering the
//     progress as it comes: the page's main-thread load and its stalls, during add() and overall.
//
// Every run is a fresh browser; the rounds interleave the contestants of a scenario, the order rotated
// each round. After each run the emulator must hold every file with the source's size and CRC-64.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/smhupload/smh-upload/smh"
)

// The queue scenarios.
const (
	ScenarioSmall = "small"
	ScenarioLarge = "large"
	ScenarioMany  = "many"
)

// QueueScenarios are the scenarios in the order they run.
var QueueScenarios = []string{ScenarioSmall, ScenarioLarge, ScenarioMany}

// The protocols of the small scenario's legs, named as Resource Timing's nextHopProtocol names them.
const (
	// ProtoHTTP1 is plain HTTP, HTTP/1.1: Chromium opens at most 6 connections per host.
	ProtoHTTP1 = "http/1.1"
	// ProtoH2 is HTTPS with a throwaway certificate, HTTP/2 by ALPN: every request to a host shares one
	// connection, as with the real SMH and COS hosts.
	ProtoH2 = "h2"
)

// QueueProtocols are the small scenario's protocols in the order they run.
var QueueProtocols = []string{ProtoHTTP1, ProtoH2}

// The queue page's contestant kinds.
const (
	QueueKindQueue      = "queue"      // smh.queue() with its defaults
	QueueKindCOS        = "cos"        // cos-js-sdk-v5 uploadFiles with its defaults
	QueueKindSingle     = "single"     // smh.upload() of the whole source as one file
	QueueKindSequential = "sequential" // smh.upload() of each file, one after the other
	// QueueKindIdle uploads nothing: the page with its stall probe (lag.js) alone, for
	// QueueConfig.IdleTime. Its main thread is the floor under the other rows' figures: what the
	// measuring costs, not the uploader.
	QueueKindIdle = "idle"
)

// QueueConfig configures RunQueue. Zero values mean the defaults. Of the embedded Config, Size and
// Contestants are not used; Link is the small scenario's shaped link (default Links["wan"], 40 ms RTT).
type QueueConfig struct {
	Config
	Scenarios  []string      // default QueueScenarios
	SmallFiles int           // default 1,000
	SmallSize  int64         // default 16 KiB
	LargeFiles int           // default 20
	LargeSize  int64         // default 32 MiB
	ManyFiles  int           // default 10,000
	ManySize   int64         // default 1 byte
	IdleTime   time.Duration // the many scenario's idle row; default 20 s
	// InPage runs the module's rows in the page instead of the module's Worker (its default).
	InPage bool
	// Protocols are the small scenario's protocols (QueueProtocols' values), each on loopback and on the
	// link; default QueueProtocols. The large and many scenarios run over ProtoHTTP1.
	Protocols []string
	// Variant, when set, also runs the small and large scenarios' queue with these options of smh.queue()
	// ({"files": 32}, say): a row beside the defaults', to measure a change before making it one.
	Variant map[string]any
	// TraceDir, when set, receives Chromium's trace of each run (toplevel tasks with where they were
	// posted from, the timeline and IPC), SCENARIO-CONTESTANT-rROUND.json: what a profile calls
	// "(program)" on the main thread is named there.
	TraceDir string
}

// QueueContestant is one row of a queue scenario.
type QueueContestant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Reference is the row the scenario's ratios are taken against.
	Reference bool `json:"reference,omitempty"`
	// InPage runs the module in the page (load({ worker: false })).
	InPage bool `json:"inPage,omitempty"`
	// Options are the queue's options other than its defaults (a variant), as smh.queue() takes them.
	Options map[string]any `json:"options,omitempty"`
}

// QueueContestants returns the rows of a scenario; inPage runs the module's rows in the page
// (load({ worker: false })) instead of its Worker.
func QueueContestants(scenario string, inPage bool) []QueueContestant {
	where := ""
	if inPage {
		where = ", in the page"
	}
	q := QueueContestant{ID: "queue", Name: "smh-upload queue() (defaults" + where + ")", Kind: QueueKindQueue}
	var cs []QueueContestant
	switch scenario {
	case ScenarioSmall:
		cs = []QueueContestant{q, {ID: "cos-files", Name: "cos-js-sdk-v5 " + COSSDKVersion + " uploadFiles (defaults)", Kind: QueueKindCOS, Reference: true}}
	case ScenarioLarge:
		cs = []QueueContestant{q,
			{ID: "single", Name: "smh-upload upload(), one file of the same bytes" + where, Kind: QueueKindSingle, Reference: true},
			{ID: "sequential", Name: "smh-upload upload() of each file in turn" + where, Kind: QueueKindSequential}}
	case ScenarioMany:
		cs = []QueueContestant{q, {ID: "idle", Name: "the page alone: its stall probe, no uploader", Kind: QueueKindIdle}}
	}
	for i := range cs {
		cs[i].InPage = inPage && cs[i].Kind != QueueKindCOS
	}
	return cs
}

// queueContestants are QueueContestants, with the variant of cfg after the defaults' queue in the small
// and large scenarios (the many scenario's floor is what its one queue row is read against).
func queueContestants(cfg QueueConfig, scenario string) []QueueContestant {
	cs := QueueContestants(scenario, cfg.InPage)
	if scenario == ScenarioMany || len(cfg.Variant) == 0 {
		return cs
	}
	js, _ := json.Marshal(cfg.Variant) // keys sorted
	v := cs[0]
	v.ID, v.Name, v.Options = "queue-variant", strings.Replace(v.Name, "(defaults", "("+string(js), 1), cfg.Variant
	return slices.Insert(cs, 1, v)
}

// QueueRun is one run of one contestant in one scenario.
type QueueRun struct {
	Scenario   string `json:"scenario"`
	Link       string `json:"link,omitempty"` // "" on loopback
	Protocol   string `json:"protocol"`       // the leg's, ProtoHTTP1 or ProtoH2
	Contestant string `json:"contestant"`
	Round      int    `json:"round"`
	Error      string `json:"error,omitempty"`
	// LoadStart is the machine's load average as the upload started (/proc/loadavg: 1, 5, 15 minutes).
	LoadStart string `json:"loadAverageAtStart"`

	Files       int     `json:"files"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	FilesPerSec float64 `json:"filesPerSecond"`
	MiBps       float64 `json:"mibPerSecond"`
	AddMs       float64 `json:"addMs"` // queue: until add() resolved

	Cores
	// CPU is the CPU time of the run, core·seconds, by process class (the fields of CPUPerGiB, not per
	// GiB here).
	CPU          CPUPerGiB `json:"cpuSeconds"`
	OutsideCores float64   `json:"outsideCores"`
	Noisy        bool      `json:"noisy,omitempty"`

	Stalls        int     `json:"stalls"` // 10 ms timer ticks more than 50 ms late
	LongestMs     float64 `json:"longestStallMs"`
	AddStalls     int     `json:"addStalls"` // the same, until add() resolved
	AddLongestMs  float64 `json:"addLongestStallMs"`
	LongTasks     int     `json:"longTasks"`
	ProgressCalls int     `json:"progressCalls"`
	FileEvents    int     `json:"fileEvents"`

	Requests    map[string]int `json:"requests"` // as the emulator counted them
	RequestsAll int            `json:"requestsTotal"`
	PutPeak     int            `json:"putPeak"` // the most object and part PUTs in flight at once

	// NextHop is the protocol Chromium says it used, from the first Resource Timing entry of each host
	// in the timeline of the page or of its Worker; "" for a host the contestant did not call.
	NextHop NextHop `json:"nextHopProtocol"`
	// ServerProtocols are the requests each host received by HTTP version ("api HTTP/2.0": n), CORS
	// preflights included.
	ServerProtocols map[string]int `json:"serverProtocols"`
	// Connections are the connections Chromium opened to each host ("api", "cos") during the upload.
	Connections map[string]int `json:"connections"`

	Stored   int  `json:"stored"`        // files the emulator holds with the source's size and CRC-64
	Verified bool `json:"bytesVerified"` // every file stored
}

// NextHop is the nextHopProtocol of a request to each of the emulator's hosts.
type NextHop struct {
	API string `json:"api"`
	COS string `json:"cos"`
}

// queueFile is one source file of a scenario and what the emulator must hold for it.
type queueFile struct {
	name  string
	size  int64
	crc   uint64
	local string // on disk (large scenario), else ""
}

// queueHarness is one emulator (on loopback or behind a link, over one protocol) and the page server.
type queueHarness struct {
	*harness
	proto string
	stop  func()
	idle  time.Duration // QueueConfig.IdleTime
	trace string        // QueueConfig.TraceDir
}

// RunQueue runs the queue benchmark. Like Run, it returns an error only when the harness cannot run; a
// contestant that fails is reported in its QueueRun and its row.
func RunQueue(ctx context.Context, cfg QueueConfig) (*QueueReport, error) {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.SmallFiles, 1000)
	def64(&cfg.SmallSize, 16<<10)
	def(&cfg.LargeFiles, 20)
	def64(&cfg.LargeSize, 32*MiB)
	def(&cfg.ManyFiles, 10000)
	def64(&cfg.ManySize, 1)
	if cfg.IdleTime <= 0 {
		cfg.IdleTime = 20 * time.Second
	}
	def(&cfg.Rounds, 3)
	if cfg.Scenarios == nil {
		cfg.Scenarios = QueueScenarios
	}
	for _, s := range cfg.Scenarios {
		if !slices.Contains(QueueScenarios, s) {
			return nil, fmt.Errorf("bench: queue scenario %q: want one of %v", s, QueueScenarios)
		}
	}
	if cfg.Protocols == nil {
		cfg.Protocols = QueueProtocols
	}
	for _, p := range cfg.Protocols {
		if !slices.Contains(QueueProtocols, p) {
			return nil, fmt.Errorf("bench: queue protocol %q: want one of %v", p, QueueProtocols)
		}
	}
	if cfg.Link == nil {
		l := Links["wan"]
		cfg.Link = &l
	}
	cleanup, err := cfg.browserDefaults("smh-bench-queue-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if slices.Contains(cfg.Scenarios, ScenarioSmall) {
		if _, err := os.Stat(cfg.COSSDK); err != nil {
			return nil, fmt.Errorf("bench: cos-js-sdk-v5 (npm ci in web/bench): %w", err)
		}
	}
	site := filepath.Join(cfg.WorkDir, "site")
	if err := stageModule(cfg.ModuleDir, filepath.Join(site, "module")); err != nil {
		return nil, err
	}

	rep := &QueueReport{Date: time.Now().UTC(), Rounds: cfg.Rounds, Link: cfg.Link.String(), Protocols: cfg.Protocols, Machine: machine(cfg.Chromium),
		Small: filesText(cfg.SmallFiles, cfg.SmallSize), Large: filesText(cfg.LargeFiles, cfg.LargeSize),
		Many: filesText(cfg.ManyFiles, cfg.ManySize)}
	harnesses := map[string]*queueHarness{}
	defer func() {
		for _, qh := range harnesses {
			qh.stop()
		}
	}()
	harnessFor := func(link *Link, proto string) (*queueHarness, error) {
		key := proto
		if link != nil {
			key += " " + link.String()
		}
		if qh := harnesses[key]; qh != nil {
			return qh, nil
		}
		c := cfg.Config
		c.Link = link
		qh, err := startQueueHarness(c, site, proto)
		if err != nil {
			return nil, err
		}
		qh.idle, qh.trace = cfg.IdleTime, cfg.TraceDir
		harnesses[key] = qh
		return qh, nil
	}

	for _, sc := range cfg.Scenarios {
		var files []queueFile
		var single []queueFile // the large scenario's one file
		links := []*Link{nil}
		protos := []string{ProtoHTTP1}
		var err error
		switch sc {
		case ScenarioSmall:
			files = generatedFiles(cfg.SmallFiles, cfg.SmallSize)
			links = append(links, cfg.Link)
			protos = cfg.Protocols
		case ScenarioMany:
			files = generatedFiles(cfg.ManyFiles, cfg.ManySize)
		case ScenarioLarge:
			if single, files, err = largeFiles(cfg.WorkDir, cfg.LargeFiles, cfg.LargeSize); err != nil {
				return nil, err
			}
		}
		cs := queueContestants(cfg, sc)
		// A leg is a link and a protocol; the contestants of a leg run in the same rounds, so that their
		// ratio is taken over the same protocol on the same machine at about the same time.
		for _, link := range links {
			for _, proto := range protos {
				qh, err := harnessFor(link, proto)
				if err != nil {
					return nil, err
				}
				for round := 1; round <= cfg.Rounds; round++ {
					for i := range cs {
						c := cs[(i+round-1)%len(cs)]
						if err := ctx.Err(); err != nil {
							return nil, err
						}
						src := files
						if c.Kind == QueueKindSingle {
							src = single
						}
						r := qh.runQueueOne(ctx, sc, c, round, src, rep)
						cfg.Logf("%s %s %s round %d %-10s %s", sc, linkName(r.Link), proto, round, c.ID, r.summary())
						rep.Runs = append(rep.Runs, r)
					}
				}
			}
		}
		// The large sources are 2 × 640 MiB on disk: gone once their scenario ran.
		for _, f := range append(single, files...) {
			if f.local != "" {
				os.Remove(f.local)
			}
		}
	}
	rep.Machine.LoadEnd = loadAverage()
	rep.Rows = aggregateQueue(cfg, rep.Runs)
	return rep, nil
}

// filesText is "1000 × 16 KiB".
func filesText(n int, sz int64) string {
	if sz < MiB && sz%1024 == 0 {
		return fmt.Sprintf("%d × %d KiB", n, sz>>10)
	}
	if sz == 1 {
		return fmt.Sprintf("%d × 1 byte", n)
	}
	return fmt.Sprintf("%d × %s", n, size(sz))
}

func linkName(l string) string {
	if l == "" {
		return "loopback"
	}
	return l
}

// startQueueHarness starts an emulator (behind cfg.Link when set, over proto) and a page server for the
// site directory.
func startQueueHarness(cfg Config, site, proto string) (*queueHarness, error) {
	h := &harness{cfg: cfg, tls: proto == ProtoH2}
	stopEmu, err := h.startEmulator()
	if err != nil {
		return nil, err
	}
	if err := h.emu.CreateDirectory("-", "bench"); err != nil {
		stopEmu()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stopEmu()
		return nil, err
	}
	srv := &http.Server{Handler: pageHandler(site, cfg.COSSDK), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	h.pageURL = "http://" + ln.Addr().String() + "/queue.html"
	return &queueHarness{harness: h, proto: proto, stop: func() { srv.Close(); stopEmu() }}, nil
}

// stageModule copies the module's files from dir into dst, so that a rebuild during the run cannot mix
// versions.
func stageModule(dir, dst string) error {
	for _, name := range []string{"smh.wasm", "wasm_exec.js", "smh-upload.js"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("bench: the module (make wasm): %w", err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := copyFile(filepath.Join(dir, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// generatedSource is file i of a generated scenario, as queue.js's fill() makes it: the xorshift32 stream
// seeded by (i + 1) · 2654435761.
func generatedSource(i int, n int64) []byte {
	b := make([]byte, n)
	x := uint32(uint64(i+1) * 2654435761)
	if x == 0 {
		x = 1
	}
	for j := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[j] = byte(x)
	}
	return b
}

// generatedName is queue.js's name(i).
func generatedName(i int) string { return fmt.Sprintf("f%05d.bin", i) }

func generatedFiles(n int, sz int64) []queueFile {
	out := make([]queueFile, n)
	for i := range out {
		out[i] = queueFile{name: generatedName(i), size: sz, crc: smh.UpdateCRC64(0, generatedSource(i, sz))}
	}
	return out
}

// largeFiles writes one random source of n × sz bytes and its n pieces, each a file of its own, so that
// the queue and the single upload send the same bytes.
func largeFiles(dir string, n int, sz int64) (single, pieces []queueFile, err error) {
	whole := filepath.Join(dir, fmt.Sprintf("whole-%d.bin", int64(n)*sz))
	crc, err := writeSource(whole, int64(n)*sz)
	if err != nil {
		return nil, nil, err
	}
	single = []queueFile{{name: filepath.Base(whole), size: int64(n) * sz, crc: crc, local: whole}}
	src, err := os.Open(whole)
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	for i := range n {
		p := queueFile{name: fmt.Sprintf("big-%02d.bin", i), size: sz, local: filepath.Join(dir, fmt.Sprintf("big-%02d.bin", i))}
		f, err := os.Create(p.local)
		if err != nil {
			return nil, nil, err
		}
		c := smh.NewCRC64()
		_, err = io.CopyN(io.MultiWriter(f, c), src, sz)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, err
		}
		p.crc = c.Sum64()
		pieces = append(pieces, p)
	}
	return single, pieces, nil
}

// queuePageConfig is what queue.js reads from ?cfg=.
type queuePageConfig struct {
	Kind        string         `json:"kind"`
	InPage      bool           `json:"inPage,omitempty"`
	Options     map[string]any `json:"options,omitempty"` // the queue's, beyond its defaults
	Scenario    string         `json:"scenario"`
	Files       int            `json:"files"`
	FileSize    int64          `json:"fileSize"`
	Endpoint    string         `json:"endpoint"`
	COSEndpoint string         `json:"cosEndpoint"`
	LibraryID   string         `json:"libraryId"`
	Token       string         `json:"token"`
	Path        string         `json:"path"` // the folder the files go to
	ModuleBase  string         `json:"moduleBase"`
	COSSDK      string         `json:"cosSDK"`
	SecretID    string         `json:"secretId"`
	SecretKey   string         `json:"secretKey"`
	Bucket      string         `json:"bucket"`
	Region      string         `json:"region"`
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
	pc := queuePageConfig{Kind: c.Kind, InPage: c.InPage, Options: c.Options, Scenario: sc, Endpoint: h.endpoint, COSEndpoint: h.cosEndpoint,
		LibraryID: h.emu.LibraryID(), Token: benchToken, Path: folder, ModuleBase: "/module", COSSDK: "/cos/cos-js-sdk-v5.min.js",
		SecretID: cosSecretID, SecretKey: cosSecret, Bucket: cosBucket, Region: cosRegion}
	switch {
	case c.Kind == QueueKindIdle:
		pc.IdleMs = h.idle.Milliseconds()
	case sc != ScenarioLarge:
		pc.Files, pc.FileSize = len(files), files[0].size
	}
	js, _ := json.Marshal(pc)
	type ready struct {
		Ready   float64 `json:"ready"`
		Error   string  `json:"error"`
		Version string  `json:"version"`
	}
	rd, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (ready, error) {
		if _, err := chromedp.Navigate(h.pageURL+"?cfg="+url.QueryEscape(string(js)))(ctx, t); err != nil {
			return ready{}, err
		}
		if _, err := chromedp.Poll[chromedp.Void](`window.benchReady !== undefined`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute))(ctx, t); err != nil {
			return ready{}, err
		}
		return chromedp.Evaluate[ready](`({ready: window.benchReady, error: window.benchError ?? "", version: window.benchVersion ?? ""})`)(ctx, t)
	})
	switch {
	case err != nil:
		return fail("load the page: %v", err)
	case rd.Error != "":
		return fail("prepare: %s", rd.Error)
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

// serverProto is how net/http names a protocol in Request.Proto.
var serverProto = map[string]string{ProtoHTTP1: "HTTP/1.1", ProtoH2: "HTTP/2.0"}

// protocolMismatch says how a run's requests did not all speak proto, or "" when they did: every request
// the emulator received, and the nextHopProtocol Chromium reported for each host it called.
func protocolMismatch(proto string, hop NextHop, server map[string]int) string {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(server)) {
		if _, p, _ := strings.Cut(k, " "); p != serverProto[proto] {
			bad = append(bad, fmt.Sprintf("%d requests %s", server[k], k))
		}
	}
	for host, got := range map[string]string{"API": hop.API, "COS": hop.COS} {
		if got != "" && got != proto {
			bad = append(bad, fmt.Sprintf("Chromium's nextHopProtocol to the %s host is %q", host, got))
		}
	}
	slices.Sort(bad)
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("want %s, got %s", proto, strings.Join(bad, ", "))
}

// nextHops reads the nextHopProtocol of the first Resource Timing entry of each of the emulator's hosts,
// from the page's timeline and then its Workers' (the module uploads from its Worker, whose requests are
// in a timeline of its own). A host no entry names is "", an entry that names no protocol "unknown":
// Chromium reports none for a resource of another origin whose answer lacks Timing-Allow-Origin, which
// the harness's hosts send (protoTally.wrap).
func nextHops(ctx context.Context, endpoint, cosEndpoint string) (NextHop, error) {
	api, _ := json.Marshal(endpoint + "/")
	cos, _ := json.Marshal(cosEndpoint + "/")
	expr := fmt.Sprintf(`(() => {
		const hop = (prefix) => {
			const e = performance.getEntriesByType("resource").find((e) => e.name.startsWith(prefix));
			return e === undefined ? "" : e.nextHopProtocol || "unknown";
		};
		return {api: hop(%s), cos: hop(%s)};
	})()`, api, cos)
	hop, err := chromedp.Run(ctx, chromedp.Evaluate[NextHop](expr))
	if err != nil {
		return hop, err
	}
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return hop, err
	}
	for _, ti := range infos {
		if ti.Type != "worker" || (hop.API != "" && hop.COS != "") {
			continue
		}
		wctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
		w, err := chromedp.Run(wctx, chromedp.Evaluate[NextHop](expr))
		cancel()
		if err != nil {
			return hop, fmt.Errorf("the Worker's timeline: %w", err)
		}
		hop.API, hop.COS = cmp.Or(hop.API, w.API), cmp.Or(hop.COS, w.COS)
	}
	return hop, nil
}

// notRequest are the emulator's counters that count no request of their own.
var notRequest = map[string]bool{"part.expired": true, "confirm.crc64": true, "put.peak": true, "part.peak": true,
	"object.peak": true}

// cpuBetween is the CPU used between two snapshots: the cores of the page's main thread, of the
// renderer, of Chromium and of this process; the core·seconds by process class; and the cores that
// processes outside the benchmark used.
func cpuBetween(s0, s1 snapshot) (c Cores, secs CPUPerGiB, outside float64) {
	wall := s1.at.Sub(s0.at).Seconds()
	d := func(name string) float64 { return (s1.metrics[name] - s0.metrics[name]) / wall }
	c.MainBusy = max(d("TaskDuration")-d("DevToolsCommandDuration"), 0)
	c.MainScript = d("ScriptDuration")
	c.MainCPU = d("ThreadTime")
	best := 0.0
	for pid, p := range s1.procs {
		delta := p.cpu - s0.procs[pid].cpu
		c.BrowserCPU += delta / wall
		if p.kind == "renderer" && !p.webUI {
			best = max(best, delta)
		}
	}
	c.RendererCPU = best / wall
	c.ServerCPU = (s1.server - s0.server) / wall
	secs = perGiB(s0, s1, 1<<30) // per GiB of 1 GiB: the core·seconds themselves
	if s1.busy > 0 {
		outside = max((s1.busy-s0.busy)-secs.Total, 0) / wall
	}
	return c, secs, outside
}

func (r QueueRun) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	noisy := ""
	if r.Noisy {
		noisy = fmt.Sprintf("  NOISY (%.2f cores outside)", r.OutsideCores)
	}
	return fmt.Sprintf("%8.1f files/s %7.1f MiB/s  %6.1f s  main cpu %.3f  stalls %d (%.0f ms)  add %.0f ms  req/file %.2f  cpu/file %.1f ms  nextHop %s/%s  load %s  stored %d/%d%s",
		r.FilesPerSec, r.MiBps, r.Seconds, r.MainCPU, r.Stalls, r.LongestMs, r.AddMs, float64(r.RequestsAll)/float64(max(r.Files, 1)),
		r.CPU.Total*1000/float64(max(r.Files, 1)), cmp.Or(r.NextHop.API, "-"), cmp.Or(r.NextHop.COS, "-"), r.LoadStart, r.Stored, r.Files, noisy)
}
