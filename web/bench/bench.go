//go:build !js

// Package bench is the browser benchmark of issue #9: it uploads one source file from headless Chromium
// with this module (checks on and off), with the physical limit (plain XMLHttpRequest PUTs of the same
// Blob.slice() parts, no SDK, nothing checked) and with Tencent's cos-js-sdk-v5, against a loopback
// emulator that hashes, checks and discards (emulator.Config.Discard), and measures what a user feels:
// throughput, main-thread load, event-loop stalls, memory, start-up time and requests.
//
// Runs are interleaved (one of each contestant per round, the order rotated every round) and each one
// starts a fresh browser with a fresh profile on disk, so no run inherits a cache, a warm JIT or a
// localStorage entry from another. The source is a random file on disk handed to an <input type=file>,
// as a user would pick it: Chromium fails on generated in-page Blobs of a gigabyte or more.
//
// Run drives it; cmd/smh-bench is `make bench`; the test in this package runs a small variant in
// `make test` to prove that every contestant completes with the right bytes. Speeds are measured and
// reported, never asserted.
package bench

import (
	"context"
	"crypto/x509"
	"embed"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
)

// MiB is 2^20 bytes.
const MiB = 1 << 20

//go:embed page
var pageFiles embed.FS

// Config configures Run. Zero values mean the defaults.
type Config struct {
	Size   int64 // source size; default 256 MiB
	Rounds int   // default 3
	// Chromium is the browser; default $SMH_CHROMIUM, else /usr/bin/chromium.
	Chromium string
	// ModuleDir holds smh.wasm, wasm_exec.js and smh-upload.js (make wasm: wasm/dist). They are copied at
	// the start, so a rebuild during the run cannot mix versions.
	ModuleDir string
	// COSSDK is cos-js-sdk-v5's browser build (web/bench/node_modules/cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js).
	COSSDK string
	// WorkDir receives the source file and the browser profiles; default a new temporary directory, removed
	// at the end.
	WorkDir     string
	Contestants []Contestant // nil: Contestants(); empty: no uploads (the start-up table alone)
	// StartupRounds, when > 0, also measures start-up (the start-up table) in that many rounds.
	StartupRounds int
	// RunTimeout bounds one upload with its browser; default 10 minutes.
	RunTimeout time.Duration
	// Logf, when set, gets one line per run and the browser's errors.
	Logf func(format string, args ...any)
	// Link, when set, puts a shaped link (latency and a shared rate) between Chromium and the emulator.
	Link *Link
	// ProfileDir, when set, receives a V8 CPU profile of the page's main thread for each upload,
	// <contestant>-r<round>.cpuprofile (open it in Chrome DevTools' Performance panel). Profiling costs
	// some main-thread time, so the figures of a profiled run are not comparable with the others.
	ProfileDir string
	// StartupStay is the most a cold visit of a module row stays on its page after it is ready, for V8
	// to write its wasm code cache, which the warm visit then finds; it leaves as soon as the cache is on
	// disk. Default DefaultStartupStay. The other rows stay 3 s.
	StartupStay time.Duration
	// StartupVariants are module builds (ID and ModuleDir) given start-up rows of their own, next to the
	// module's in the same interleaved rounds: a change measured against the build it changes.
	StartupVariants []Contestant
	// StartupImmutable are ids of StartupVariants whose files are served with a year's max-age
	// (immutableCache) instead of no-cache and an ETag: the warm visit then revalidates nothing.
	StartupImmutable []string
	// StartupTraceDir, when set, receives Chromium's whole trace of each of the module's start-up visits,
	// startup-<column>-r<round>.json, and of the code cache's events while a cold visit stays on the page,
	// startup-cold-r<round>-stay.json (open them in Perfetto or DevTools' Performance panel): the page's and
	// the Worker's requests, scripts, tasks and V8's compilation on one clock. Tracing that much costs
	// time, so the figures of a traced run are not comparable with the others.
	StartupTraceDir string
}

// Report is the outcome of Run.
type Report struct {
	Date        time.Time   `json:"date"`
	Size        int64       `json:"size"`
	Rounds      int         `json:"rounds"`
	SourceCRC64 string      `json:"sourceCrc64"`
	Link        string      `json:"link,omitempty"` // the shaper between Chromium and the storage host; "" on loopback
	Machine     Machine     `json:"machine"`
	WasmRaw     int64       `json:"wasmBytes"`
	WasmGzip    int64       `json:"wasmGzipBytes"`
	WasmBrotli  int64       `json:"wasmBrotliBytes"`
	Module      string      `json:"moduleVersion"`
	COSSDK      string      `json:"cosSdkVersion"`
	Rows        []Row       `json:"rows"`
	Runs        []RunResult `json:"runs"`
	// Startup is the start-up table, when Config.StartupRounds asked for it.
	Startup *StartupTable `json:"startup,omitempty"`
}

// Machine describes where it ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	Go        string `json:"go"`
	Chromium  string `json:"chromium"`
	LoadStart string `json:"loadAverageAtStart"`
	LoadEnd   string `json:"loadAverageAtEnd"`
}

// RunResult is one upload by one contestant.
type RunResult struct {
	Contestant string `json:"contestant"`
	Round      int    `json:"round"`
	Error      string `json:"error,omitempty"`

	Bytes   int64   `json:"bytes"`
	Parts   int     `json:"parts"`
	Seconds float64 `json:"seconds"`
	MiBps   float64 `json:"mibPerSecond"`
	ReadyMs float64 `json:"readyMs"` // navigation start to ready to upload
	// StartMs is the contestant's own start-up: from the page's script start to ready (ReadyMs minus
	// what loading the benchmark page took).
	StartMs float64 `json:"startMs"`

	Cores
	PerGiB CPUPerGiB `json:"cpuPerGiB"`
	// OutsideCores is the CPU that processes outside the benchmark (neither this process nor the browser's)
	// used during the upload, in cores; a run with more than NoisyCores is Noisy: its speed was squeezed by
	// someone else's work (its CPU per GiB much less so).
	OutsideCores float64 `json:"outsideCores"`
	Noisy        bool    `json:"noisy,omitempty"`

	Stalls     int     `json:"stalls"` // 10 ms timer ticks more than 50 ms late
	LongestMs  float64 `json:"longestStallMs"`
	LongTasks  int     `json:"longTasks"`
	LongTaskMs float64 `json:"longTaskMs"`

	HeapPeak    int64          `json:"jsHeapPeakBytes"`
	HeapGrowth  int64          `json:"jsHeapGrowthBytes"`
	ABGrowth    int64          `json:"arrayBufferGrowthBytes"` // backing stores of ArrayBuffers (and external strings)
	WasmGrowth  int64          `json:"wasmMemoryGrowthBytes"`
	WasmPeak    int64          `json:"wasmMemoryPeakBytes"`
	RSSGrowth   int64          `json:"rendererRSSGrowthBytes"`
	RSSPeak     int64          `json:"rendererRSSPeakBytes"`
	Requests    map[string]int `json:"requests"`
	RequestsAll int            `json:"requestsTotal"`
	PerPart     float64        `json:"requestsPerPart"`

	StoredCRC64 string `json:"storedCrc64"`
	StoredSize  int64  `json:"storedSize"`
	Verified    bool   `json:"bytesVerified"` // stored size and CRC-64 equal the source's
	// ConfirmCRC reports whether the module's confirm carried the file's CRC-64 (its check was on).
	ConfirmCRC bool `json:"confirmSentCrc64"`
}

// Cores is the CPU an upload used, in cores (seconds per second of the upload).
type Cores struct {
	// Main thread of the page's renderer, from Performance.getMetrics: TaskDuration (busy, wall time of
	// tasks), ScriptDuration, ThreadTime (CPU).
	MainBusy   float64 `json:"mainThreadBusyCores"`
	MainScript float64 `json:"mainThreadScriptCores"`
	MainCPU    float64 `json:"mainThreadCPUCores"`
	// RendererCPU is the renderer process (all threads), BrowserCPU every Chromium process, ServerCPU this
	// process (the emulator hashing, the page server and the harness).
	RendererCPU float64 `json:"rendererCPUCores"`
	BrowserCPU  float64 `json:"browserCPUCores"`
	ServerCPU   float64 `json:"serverCPUCores"`
}

// CPUPerGiB is the CPU time an upload cost per GiB uploaded, in core·seconds, for each kind of Chromium
// process (told apart by --type= and --utility-sub-type= in /proc/PID/cmdline), for this process (the
// emulator, which hashes every byte, the page server and the harness) and in total. Unlike speed, it does
// not depend much on what else the machine runs.
type CPUPerGiB struct {
	Browser  float64 `json:"browser"`
	Renderer float64 `json:"renderer"`
	Network  float64 `json:"network"`
	GPU      float64 `json:"gpu"`
	Other    float64 `json:"other"`
	Chromium float64 `json:"chromium"` // the sum of the above
	Server   float64 `json:"server"`
	Total    float64 `json:"total"` // Chromium + Server
}

// NoisyCores is the CPU, in cores, that processes outside the benchmark may use during a run before the
// run is marked noisy.
const NoisyCores = 0.1

// Row aggregates the runs of one contestant: medians for speed and CPU, the worst run for stalls and
// memory.
type Row struct {
	Contestant
	Runs      int     `json:"runs"`
	Failed    int     `json:"failed"`
	MedianMiB float64 `json:"medianMiBps"`
	MinMiB    float64 `json:"minMiBps"`
	MaxMiB    float64 `json:"maxMiBps"`
	Ratio     float64 `json:"ratioToReference"` // median / the faster reference row's median
	Seconds   float64 `json:"medianSeconds"`    // to done

	Cores                // medians
	PerGiB     CPUPerGiB `json:"cpuPerGiB"` // medians, field by field
	Noisy      int       `json:"noisyRuns"`
	Stalls     int       `json:"stalls"`
	LongestMs  float64   `json:"longestStallMs"`
	HeapPeak   int64     `json:"jsHeapPeakBytes"`
	ABGrowth   int64     `json:"arrayBufferGrowthBytes"`
	WasmGrowth int64     `json:"wasmMemoryGrowthBytes"`
	RSSGrowth  int64     `json:"rendererRSSGrowthBytes"`
	ReadyMs    float64   `json:"readyMs"`
	StartMs    float64   `json:"startMs"`
	PerPart    float64   `json:"requestsPerPart"`
	Verified   bool      `json:"bytesVerified"`
	// Note explains a row that did not measure what its name says.
	Note string `json:"note,omitempty"`
}

// Harness credentials: the emulator's admin token and the COS key pair cos-js-sdk-v5 signs with.
const (
	benchToken  = "bench-admin-token"
	cosSecretID = "AKIDsmhuploadbench"
	cosSecret   = "smh-upload-bench-secret"
	cosBucket   = "smhemulator-1250000000"
	cosRegion   = "ap-guangzhou"
)

type harness struct {
	cfg Config
	emu *emulator.Emulator
	// endpoint and cosEndpoint are where the page reaches the emulator's hosts: the shaped link's proxies,
	// or the emulator's own listeners.
	endpoint, cosEndpoint string
	pageURL               string
	// startupURL is where the start-up visits reach the page server: pageURL, or on a shaped link the
	// proxy whose rate holds the download.
	startupURL string
	src        string // the source file
	srcCRC     uint64
	moduleV    string
	cosV       string
	mu         sync.Mutex
	// tls serves both hosts over HTTPS (HTTP/2 by ALPN) with the certificate cert, which the browser is
	// told to accept; protos counts the requests by HTTP version.
	tls    bool
	cert   *x509.Certificate
	protos *protoTally
}

// browserDefaults fills in what every browser benchmark needs: Chromium (and
// checks it is there), RunTimeout, Logf and, unless given, a work folder
// named by prefix that cleanup removes.
func (cfg *Config) browserDefaults(prefix string) (cleanup func(), err error) {
	if cfg.Chromium == "" {
		cfg.Chromium = DefaultChromium()
	}
	if cfg.RunTimeout <= 0 {
		cfg.RunTimeout = 10 * time.Minute
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if _, err := os.Stat(cfg.Chromium); err != nil {
		return nil, fmt.Errorf("bench: chromium: %w", err)
	}
	if cfg.WorkDir != "" {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	cfg.WorkDir = dir
	return func() { os.RemoveAll(dir) }, nil
}

// Run runs the benchmark. It returns an error when the harness itself cannot run (no browser, no module,
// no source); a contestant that fails is reported in its RunResult and in its row's Failed count.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Size <= 0 {
		cfg.Size = 256 * MiB
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	if cfg.Contestants == nil {
		cfg.Contestants = Contestants()
	}
	cleanup, err := cfg.browserDefaults("smh-bench-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	h := &harness{cfg: cfg}
	rep := &Report{Date: time.Now().UTC(), Size: cfg.Size, Rounds: cfg.Rounds, Machine: machine(cfg.Chromium)}

	// The modules, copied (module/ is Config.ModuleDir, module-<id>/ a contestant's own), and the size.
	sites := map[string]string{"module": cfg.ModuleDir}
	for _, c := range append(slices.Clone(cfg.Contestants), cfg.StartupVariants...) {
		if c.ModuleDir != "" {
			sites["module-"+c.ID] = c.ModuleDir
		}
	}
	for site, dir := range sites {
		need := []string{"smh.wasm", "wasm_exec.js", "smh-upload.js"}
		if site != "module" && floorDir(dir) {
			need = need[:1] // a start-up floor of its own (startupRows)
		}
		for _, name := range need {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("bench: the module (make wasm): %w", err)
			}
		}
		// Everything in the directory: a candidate may bring more files (a worker script, say).
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				if err := copyFile(filepath.Join(dir, e.Name()), filepath.Join(cfg.WorkDir, "site", site, e.Name())); err != nil {
					return nil, err
				}
			}
		}
	}
	wasm := filepath.Join(cfg.WorkDir, "site", "module", "smh.wasm")
	if rep.WasmRaw, rep.WasmGzip, err = gzipSize(wasm); err != nil {
		return nil, err
	}
	// The compressed sizes are those of the smh.wasm.br and .gz make wasm writes beside it, which
	// the page server sends (Brotli 11 takes seconds to compute here); without a .gz, Go's gzip -9.
	if st, err := os.Stat(wasm + ".br"); err == nil {
		rep.WasmBrotli = st.Size()
	}
	if st, err := os.Stat(wasm + ".gz"); err == nil {
		rep.WasmGzip = st.Size()
	}
	needCOS := cfg.StartupRounds > 0 || slices.ContainsFunc(cfg.Contestants, func(c Contestant) bool { return c.Kind == KindCOS })
	if needCOS {
		if _, err := os.Stat(cfg.COSSDK); err != nil {
			return nil, fmt.Errorf("bench: cos-js-sdk-v5 (npm ci in web/bench): %w", err)
		}
	}

	// The source: random bytes on disk, and their CRC-64.
	if len(cfg.Contestants) > 0 {
		h.src = filepath.Join(cfg.WorkDir, fmt.Sprintf("source-%d.bin", cfg.Size))
		if h.srcCRC, err = writeSource(h.src, cfg.Size); err != nil {
			return nil, err
		}
		rep.SourceCRC64 = smh.FormatCRC64(h.srcCRC)
	}

	// The emulator, in the mode that keeps nothing, behind the shaped link if there is one, and the page's
	// server.
	stopEmu, err := h.startEmulator()
	if err != nil {
		return nil, err
	}
	defer stopEmu()
	if cfg.Link != nil {
		rep.Link = cfg.Link.String()
	}
	if err := h.emu.CreateDirectory("-", "bench"); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pages := pageHandler(filepath.Join(cfg.WorkDir, "site"), cfg.COSSDK)
	for _, id := range cfg.StartupImmutable {
		pages.immutable["module-"+id] = true
	}
	srv := &http.Server{Handler: pages, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	h.pageURL = "http://" + ln.Addr().String() + "/"

	// Start-up first, while nothing of the uploads' is left on the machine.
	if cfg.StartupRounds > 0 {
		stopLink, err := h.startupPath(ln.Addr().String())
		if err != nil {
			return nil, err
		}
		defer stopLink()
		if rep.Startup, err = h.runStartup(ctx, pages, cfg.StartupRounds); err != nil {
			return nil, err
		}
	}

	// Interleaved rounds, the order rotated each round.
	n := len(cfg.Contestants)
	for round := 1; round <= cfg.Rounds; round++ {
		for i := range n {
			c := cfg.Contestants[(i+round-1)%n]
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r := h.runOne(ctx, c, round)
			cfg.Logf("round %d %-15s %s", round, c.ID, r.summary())
			rep.Runs = append(rep.Runs, r)
		}
	}
	rep.Machine.LoadEnd = loadAverage()
	rep.Module, rep.COSSDK = h.moduleV, h.cosV
	rep.Rows = aggregate(cfg.Contestants, rep.Runs)
	return rep, nil
}

// startupPath sets startupURL, where the start-up visits reach the page server at addr: on a shaped
// link through it, its rate on the download (a visit downloads the uploader, where an upload's bytes go
// the other way), else straight. stop closes the link's proxy.
func (h *harness) startupPath(addr string) (stop func(), err error) {
	h.startupURL = "http://" + addr + "/"
	if h.cfg.Link == nil {
		return func() {}, nil
	}
	sh, addrs, err := startLink(*h.cfg.Link, rateDown, addr)
	if err != nil {
		return nil, err
	}
	h.startupURL = "http://" + addrs[0] + "/"
	return sh.stop, nil
}

// DefaultChromium is $SMH_CHROMIUM, else /usr/bin/chromium.
func DefaultChromium() string {
	if v := os.Getenv("SMH_CHROMIUM"); v != "" {
		return v
	}
	return "/usr/bin/chromium"
}

func (r RunResult) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	noisy := ""
	if r.Noisy {
		noisy = fmt.Sprintf("  NOISY (%.2f cores outside)", r.OutsideCores)
	}
	return fmt.Sprintf("%7.1f MiB/s  cpu/GiB %s  main cpu %.3f (busy %.3f)  stalls %d (%.0f ms)  wasm +%.1f MiB  rss +%.1f MiB  ready %.0f ms  req/part %.2f  verified %v%s",
		r.MiBps, r.PerGiB.breakdown(), r.MainCPU, r.MainBusy, r.Stalls, r.LongestMs, mib(r.WasmGrowth), mib(r.RSSGrowth), r.ReadyMs, r.PerPart, r.Verified, noisy)
}

func mib(b int64) float64 { return float64(b) / MiB }
