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
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
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
