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
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"hash/crc64"
	"html"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
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

// MiB is 2^20 bytes.
const MiB = 1 << 20

//go:embed page
var pageFiles embed.FS

// Kind is how a contestant uploads.
type Kind string

// The kinds of contestant.
const (
	KindModule Kind = "module" // this module, wasm/dist
	KindXHR    Kind = "xhr"    // the physical limit: plain XHR PUTs, nothing checked
	KindCOS    Kind = "cos"    // cos-js-sdk-v5 sliceUploadFile
)

// Contestant is one row of the table.
type Contestant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// PartSize and Concurrency: 0 means the contestant's own default.
	PartSize    int64 `json:"partSize"`
	Concurrency int   `json:"concurrency"`
	// Verify is the module's integrity check (CRC-64 of every part and of the file); off passes
	// disableIntegrityCheck: true.
	Verify bool `json:"verify"`
	// InPage runs the module in the page (load({ worker: false })) instead of its Worker.
	InPage bool `json:"inPage,omitempty"`
	// Warm has the module upload 4 MiB (4 parts) before it is ready, so the measured upload runs on code
	// the browser has already compiled and optimized: a page's second upload.
	Warm bool `json:"warm,omitempty"`
	// Body, for the limit, is "read" to read each part once through a stream while its Blob.slice() is
	// sent ("readmin": each read filling its 1 MiB view, "pieces": in 4 MiB arrayBuffer() calls instead), or "buffer" (XHR) or "fetch" to send each part's bytes read into an ArrayBuffer instead of its
	// Blob.slice(); nothing is hashed.
	Body string `json:"body,omitempty"`
	// Reference marks the rows the ratios are taken against: the faster of them is 1.00×.
	Reference bool `json:"reference"`
	// ModuleDir, for a module row, loads the module from this directory instead of Config.ModuleDir: a
	// candidate build measured against the current one in the same interleaved run.
	ModuleDir string `json:"moduleDir,omitempty"`
}

// Candidate returns module rows for the build in dir, with and without checks and in the page, to run
// next to Contestants().
func Candidate(dir string) []Contestant {
	return []Contestant{
		{ID: "candidate", Name: "candidate: smh-upload, CRC-64 verified", Kind: KindModule, Verify: true, ModuleDir: dir},
		{ID: "candidate-nocheck", Name: "candidate: smh-upload, checks off", Kind: KindModule, ModuleDir: dir},
		{ID: "candidate-inpage", Name: "candidate: smh-upload in the page, verified", Kind: KindModule, Verify: true, InPage: true, ModuleDir: dir},
	}
}

// Variant returns a verified module row, run in its Worker, for the build in dir: one of several builds
// compared in one run (smh-bench -variants name=dir,…).
func Variant(name, dir string) Contestant {
	return Contestant{ID: name, Name: "variant " + name + ": smh-upload, CRC-64 verified", Kind: KindModule, Verify: true, ModuleDir: dir}
}

// Contestant ids of the default set.
const (
	IDModule        = "module"
	IDModuleNoCheck = "module-nocheck"
	IDModuleInPage  = "module-inpage"
	IDLimit         = "limit"
	IDLimitBuffer   = "limit-buffer"
	IDLimitRead     = "limit-read"
	IDModuleWarm    = "module-warm"
	IDLimitFetch    = "limit-fetch"
	IDLimitPieces   = "limit-pieces"
	IDLimitReadMin  = "limit-readmin"
	IDCOS           = "cos-8x4"
	IDCOSDefaults   = "cos-defaults"
)

// COSSDKVersion is the cos-js-sdk-v5 that package.json pins.
const COSSDKVersion = "1.10.1"

// Contestants returns the default rows: the module with its defaults (8 MiB × 4) with and without its
// checks, and run in the page instead of its Worker, the limit and cos-js-sdk-v5 with the same 8 MiB × 4, and cos-js-sdk-v5 with its own defaults
// (1 MiB × 3).
func Contestants() []Contestant {
	return []Contestant{
		{ID: IDModule, Name: "smh-upload, CRC-64 verified (defaults)", Kind: KindModule, Verify: true},
		{ID: IDModuleNoCheck, Name: "smh-upload, checks off", Kind: KindModule},
		{ID: IDModuleInPage, Name: "smh-upload in the page (worker: false), verified", Kind: KindModule, Verify: true, InPage: true},
		{ID: IDLimit, Name: "limit: plain XHR PUTs, nothing checked", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Reference: true},
		{ID: IDCOS, Name: "cos-js-sdk-v5 " + COSSDKVersion + ", 8 MiB × 4", Kind: KindCOS, PartSize: 8 * MiB, Concurrency: 4, Reference: true},
		{ID: IDCOSDefaults, Name: "cos-js-sdk-v5 " + COSSDKVersion + ", defaults (1 MiB × 3)", Kind: KindCOS},
	}
}

// Extras returns rows that are not run by default (smh-bench -only picks them): the module's second
// upload in a page, whose code the browser has already compiled and optimized; and variants of the limit
// with nothing hashed: each part's Blob.slice() sent and also read once through a stream, what a
// verifying uploader that sends slices pays before it hashes; and each part read into an ArrayBuffer and
// sent from it, by XHR and by fetch, what reading once and sending those bytes would cost.
func Extras() []Contestant {
	return []Contestant{
		{ID: IDModuleWarm, Name: "smh-upload, CRC-64 verified, the page's second upload", Kind: KindModule, Verify: true, Warm: true},
		{ID: IDLimitRead, Name: "plain XHR PUTs, each part also read once by JS", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "read"},
		{ID: IDLimitReadMin, Name: "plain XHR PUTs, each part also read once by JS, 1 MiB per read ({ min })", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "readmin"},
		{ID: IDLimitPieces, Name: "plain XHR PUTs, each part also read once by JS in 4 MiB arrayBuffer() pieces", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "pieces"},
		{ID: IDLimitBuffer, Name: "plain XHR PUTs of each part read into an ArrayBuffer", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "buffer"},
		{ID: IDLimitFetch, Name: "plain fetch PUTs of each part read into an ArrayBuffer", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "fetch"},
	}
}

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
	Contestants []Contestant // default Contestants()
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
	src                   string // the source file
	srcCRC                uint64
	moduleV               string
	cosV                  string
	mu                    sync.Mutex
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
	if cfg.Chromium == "" {
		cfg.Chromium = DefaultChromium()
	}
	if cfg.Contestants == nil {
		cfg.Contestants = Contestants()
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
	if cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "smh-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.WorkDir = dir
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	h := &harness{cfg: cfg}
	rep := &Report{Date: time.Now().UTC(), Size: cfg.Size, Rounds: cfg.Rounds, Machine: machine(cfg.Chromium)}

	// The modules, copied (module/ is Config.ModuleDir, module-<id>/ a contestant's own), and the size.
	sites := map[string]string{"module": cfg.ModuleDir}
	for _, c := range cfg.Contestants {
		if c.ModuleDir != "" {
			sites["module-"+c.ID] = c.ModuleDir
		}
	}
	for site, dir := range sites {
		for _, name := range []string{"smh.wasm", "wasm_exec.js", "smh-upload.js"} {
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
	var err error
	wasm := filepath.Join(cfg.WorkDir, "site", "module", "smh.wasm")
	if rep.WasmRaw, rep.WasmGzip, err = gzipSize(wasm); err != nil {
		return nil, err
	}
	// The Brotli size is that of the smh.wasm.br make wasm writes beside it (0 when there is none):
	// Brotli 11 takes seconds to compute here.
	if st, err := os.Stat(wasm + ".br"); err == nil {
		rep.WasmBrotli = st.Size()
	}
	needCOS := slices.ContainsFunc(cfg.Contestants, func(c Contestant) bool { return c.Kind == KindCOS })
	if needCOS {
		if _, err := os.Stat(cfg.COSSDK); err != nil {
			return nil, fmt.Errorf("bench: cos-js-sdk-v5 (npm ci in web/bench): %w", err)
		}
	}

	// The source: random bytes on disk, and their CRC-64.
	h.src = filepath.Join(cfg.WorkDir, fmt.Sprintf("source-%d.bin", cfg.Size))
	if h.srcCRC, err = writeSource(h.src, cfg.Size); err != nil {
		return nil, err
	}
	rep.SourceCRC64 = smh.FormatCRC64(h.srcCRC)

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
	srv := &http.Server{Handler: pageHandler(filepath.Join(cfg.WorkDir, "site"), cfg.COSSDK), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	h.pageURL = "http://" + ln.Addr().String() + "/"

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

// startEmulator starts the emulator on 127.0.0.1, behind the shaped link when Config.Link is set: the
// page then reaches both hosts through the link's proxies, and the storage domain SMH hands out for parts
// is the proxy's.
func (h *harness) startEmulator() (stop func(), err error) {
	ecfg := emulator.Config{Discard: true, AccessToken: benchToken, COSSecretID: cosSecretID, COSSecretKey: cosSecret}
	if h.cfg.Link == nil {
		s, err := emulator.Start(ecfg)
		if err != nil {
			return nil, err
		}
		h.emu, h.endpoint, h.cosEndpoint = s.Emulator, s.Endpoint, s.COSEndpoint
		return func() { s.Close() }, nil
	}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			closeAll()
			return nil, err
		}
		lns = append(lns, ln)
	}
	cosLn, apiLn := lns[0], lns[1]
	sh, addrs, err := startLink(*h.cfg.Link, cosLn.Addr().String(), apiLn.Addr().String())
	if err != nil {
		closeAll()
		return nil, err
	}
	ecfg.COSDomain = addrs[0]
	e, err := emulator.New(ecfg)
	if err != nil {
		sh.stop()
		closeAll()
		return nil, err
	}
	cos := &http.Server{Handler: e.COS(), ReadHeaderTimeout: 30 * time.Second}
	api := &http.Server{Handler: e.API(), ReadHeaderTimeout: 30 * time.Second}
	go cos.Serve(cosLn)
	go api.Serve(apiLn)
	h.emu, h.cosEndpoint, h.endpoint = e, "http://"+addrs[0], "http://"+addrs[1]
	return func() {
		sh.stop()
		cos.Close()
		api.Close()
	}, nil
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

// pageHandler serves the page, the modules under /module/ and /module-<id>/ (from siteDir) and
// cos-js-sdk-v5 under /cos/.
func pageHandler(siteDir, cosSDK string) http.Handler {
	sub, err := fs.Sub(pageFiles, "page")
	if err != nil {
		panic(err) // embedded above
	}
	mux := http.NewServeMux()
	page, modules := http.FileServerFS(sub), http.FileServer(http.Dir(siteDir))
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/index.html" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(withPreloads(index, r.URL.Query().Get("cfg")))
			return
		}
		if strings.HasPrefix(r.URL.Path, "/module/") || strings.HasPrefix(r.URL.Path, "/module-") {
			modules.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
	mux.HandleFunc("/cos/cos-js-sdk-v5.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, cosSDK)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

// withPreloads adds to the page's head the preload hints that the README
// asks of pages using the contestant, so that its scripts (and smh.wasm)
// are fetched while the page itself loads: the start-up figure is then that
// of a page set up as documented.
func withPreloads(index []byte, cfgJSON string) []byte {
	var c pageConfig
	if json.Unmarshal([]byte(cfgJSON), &c) != nil {
		return index
	}
	var links string
	switch c.Kind {
	case KindModule:
		b := html.EscapeString(c.ModuleBase)
		links = `<link rel="modulepreload" href="` + b + `/smh-upload.js">` + "\n" +
			`<link rel="preload" href="` + b + `/smh.wasm" as="fetch" type="application/wasm" crossorigin>` + "\n"
	case KindCOS:
		links = `<link rel="preload" href="` + html.EscapeString(c.COSSDK) + `" as="script">` + "\n"
	}
	return bytes.Replace(index, []byte("<script "), []byte(links+"<script "), 1)
}

// pageConfig is what the page reads from ?cfg=.
type pageConfig struct {
	Kind        Kind   `json:"kind"`
	Verify      bool   `json:"verify"`
	InPage      bool   `json:"inPage,omitempty"`
	Warm        bool   `json:"warm,omitempty"`
	PartSize    int64  `json:"partSize,omitempty"`
	Concurrency int    `json:"concurrency,omitempty"`
	Body        string `json:"body,omitempty"`
	Endpoint    string `json:"endpoint"`
	COSEndpoint string `json:"cosEndpoint"`
	LibraryID   string `json:"libraryId"`
	Token       string `json:"token"`
	Path        string `json:"path"`
	ModuleBase  string `json:"moduleBase"`
	COSSDK      string `json:"cosSDK"`
	SecretID    string `json:"secretId"`
	SecretKey   string `json:"secretKey"`
	Bucket      string `json:"bucket"`
	Region      string `json:"region"`
}

// pageResult is what window.bench.run() resolves with.
type pageResult struct {
	Error         string  `json:"error"`
	Ms            float64 `json:"ms"`
	Bytes         int64   `json:"bytes"`
	CRC64         string  `json:"crc64"`
	Parts         int     `json:"parts"`
	ProgressCalls int     `json:"progressCalls"`
	Ticks         int     `json:"ticks"`
	Stalls        int     `json:"stalls"`
	MaxLateMs     float64 `json:"maxLateMs"`
	LongTasks     int     `json:"longTasks"`
	LongTaskMs    float64 `json:"longTaskMs"`
	WasmStart     int64   `json:"wasmStart"`
	WasmPeak      int64   `json:"wasmPeak"`
	WasmEnd       int64   `json:"wasmEnd"`
}

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
func (h *harness) runOne(parent context.Context, c Contestant, round int) (out RunResult) {
	out = RunResult{Contestant: c.ID, Round: round}
	fail := func(format string, args ...any) RunResult {
		out.Error = fmt.Sprintf(format, args...)
		return out
	}
	profile, err := os.MkdirTemp(h.cfg.WorkDir, "profile-")
	if err != nil {
		return fail("profile: %v", err)
	}
	defer os.RemoveAll(profile)

	actx, cancelA := chromedp.NewExecAllocator(parent, headless.Options(h.cfg.Chromium, profile)...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(headless.Errorf(func(format string, args ...any) {
		h.cfg.Logf("chromium: "+format, args...)
	})))
	defer cancelB()
	ctx, cancelT := context.WithTimeout(bctx, h.cfg.RunTimeout)
	defer cancelT()

	path := fmt.Sprintf("bench/%s-r%d.bin", c.ID, round)
	pc := pageConfig{Kind: c.Kind, Verify: c.Verify, InPage: c.InPage, Warm: c.Warm, PartSize: c.PartSize, Concurrency: c.Concurrency, Body: c.Body,
		Endpoint: h.endpoint, COSEndpoint: h.cosEndpoint, LibraryID: h.emu.LibraryID(), Token: benchToken,
		Path: path, ModuleBase: "/module", COSSDK: "/cos/cos-js-sdk-v5.min.js",
		SecretID: cosSecretID, SecretKey: cosSecret, Bucket: cosBucket, Region: cosRegion}
	if c.ModuleDir != "" {
		pc.ModuleBase = "/module-" + c.ID
	}
	js, _ := json.Marshal(pc)
	type ready struct {
		Start   float64 `json:"start"`
		Ready   float64 `json:"ready"`
		Error   string  `json:"error"`
		Version string  `json:"version"`
	}
	rd, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (ready, error) {
		if _, err := chromedp.Navigate(h.pageURL+"?cfg="+url.QueryEscape(string(js)))(ctx, t); err != nil {
			return ready{}, err
		}
		if _, err := chromedp.Poll[chromedp.Void](`window.benchReady !== undefined`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))(ctx, t); err != nil {
			return ready{}, err
		}
		return chromedp.Evaluate[ready](`({start: window.benchStart ?? 0, ready: window.benchReady, error: window.benchError ?? "", version: window.benchVersion ?? ""})`)(ctx, t)
	})
	switch {
	case err != nil:
		return fail("load the page: %v", err)
	case rd.Error != "":
		return fail("prepare: %s", rd.Error)
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
	// Profiles: the page's main thread, and each dedicated Worker it started (the module's).
	var profiled []profiledTarget
	if h.cfg.ProfileDir != "" {
		profiled = append(profiled, profiledTarget{ctx, "page"})
		if infos, err := chromedp.Targets(ctx); err == nil {
			for _, ti := range infos {
				if ti.Type == "worker" {
					wctx, cancelW := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
					defer cancelW()
					profiled = append(profiled, profiledTarget{wctx, "worker"})
				}
			}
		}
		for _, p := range profiled {
			if err := startProfile(p.ctx); err != nil {
				return fail("profiler (%s): %v", p.name, err)
			}
		}
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[pageResult](`window.bench.run()`, chromedp.EvalAwaitPromise))
	s1, serr := h.snap(ctx, browserPid)
	close(stop)
	sampled.Wait()
	if err == nil {
		for _, p := range profiled {
			file := filepath.Join(h.cfg.ProfileDir, fmt.Sprintf("%s-r%d-%s.cpuprofile", c.ID, round, p.name))
			if perr := stopProfile(p.ctx, file); perr != nil {
				h.cfg.Logf("profile of %s round %d (%s): %v", c.ID, round, p.name, perr)
			}
		}
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

// ---- aggregation ----

func aggregate(cs []Contestant, runs []RunResult) []Row {
	rows := make([]Row, 0, len(cs))
	for _, c := range cs {
		row := Row{Contestant: c, Verified: true}
		var ok []RunResult
		for _, r := range runs {
			if r.Contestant != c.ID {
				continue
			}
			row.Runs++
			if r.Error != "" || !r.Verified {
				row.Failed++
				row.Verified = false
				continue
			}
			ok = append(ok, r)
		}
		if len(ok) == 0 {
			row.Verified = false
			rows = append(rows, row)
			continue
		}
		speeds := collect(ok, func(r RunResult) float64 { return r.MiBps })
		row.MedianMiB, row.MinMiB, row.MaxMiB = median(speeds), slices.Min(speeds), slices.Max(speeds)
		row.Seconds = median(collect(ok, func(r RunResult) float64 { return r.Seconds }))
		row.MainBusy = median(collect(ok, func(r RunResult) float64 { return r.MainBusy }))
		row.MainScript = median(collect(ok, func(r RunResult) float64 { return r.MainScript }))
		row.MainCPU = median(collect(ok, func(r RunResult) float64 { return r.MainCPU }))
		row.RendererCPU = median(collect(ok, func(r RunResult) float64 { return r.RendererCPU }))
		row.BrowserCPU = median(collect(ok, func(r RunResult) float64 { return r.BrowserCPU }))
		row.ServerCPU = median(collect(ok, func(r RunResult) float64 { return r.ServerCPU }))
		row.PerGiB = medianPerGiB(ok)
		row.ReadyMs = median(collect(ok, func(r RunResult) float64 { return r.ReadyMs }))
		row.StartMs = median(collect(ok, func(r RunResult) float64 { return r.StartMs }))
		row.PerPart = median(collect(ok, func(r RunResult) float64 { return r.PerPart }))
		for _, r := range ok {
			if r.Noisy {
				row.Noisy++
			}
			row.Stalls = max(row.Stalls, r.Stalls)
			row.LongestMs = max(row.LongestMs, r.LongestMs)
			row.HeapPeak = max(row.HeapPeak, r.HeapPeak)
			row.ABGrowth = max(row.ABGrowth, r.ABGrowth)
			row.WasmGrowth = max(row.WasmGrowth, r.WasmGrowth)
			row.RSSGrowth = max(row.RSSGrowth, r.RSSGrowth)
		}
		if c.Kind == KindModule && !c.Verify && slices.ContainsFunc(ok, func(r RunResult) bool { return r.ConfirmCRC }) {
			row.Note = "the JS API ignored disableIntegrityCheck: the file CRC was sent at confirm, so this row ran with checks on"
		}
		rows = append(rows, row)
	}
	var ref float64
	for _, r := range rows {
		if r.Reference {
			ref = max(ref, r.MedianMiB)
		}
	}
	if ref > 0 {
		for i := range rows {
			rows[i].Ratio = rows[i].MedianMiB / ref
		}
	}
	return rows
}

// medianPerGiB is the median of each CPUPerGiB field over runs.
func medianPerGiB(runs []RunResult) CPUPerGiB {
	m := func(f func(CPUPerGiB) float64) float64 {
		return median(collect(runs, func(r RunResult) float64 { return f(r.PerGiB) }))
	}
	return CPUPerGiB{
		Browser:  m(func(c CPUPerGiB) float64 { return c.Browser }),
		Renderer: m(func(c CPUPerGiB) float64 { return c.Renderer }),
		Network:  m(func(c CPUPerGiB) float64 { return c.Network }),
		GPU:      m(func(c CPUPerGiB) float64 { return c.GPU }),
		Other:    m(func(c CPUPerGiB) float64 { return c.Other }),
		Chromium: m(func(c CPUPerGiB) float64 { return c.Chromium }),
		Server:   m(func(c CPUPerGiB) float64 { return c.Server }),
		Total:    m(func(c CPUPerGiB) float64 { return c.Total }),
	}
}

func collect(runs []RunResult, f func(RunResult) float64) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = f(r)
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ---- helpers ----

// writeSource writes size random bytes to path and returns their CRC-64/ECMA.
func writeSource(path string, size int64) (uint64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.NewChaCha8([32]byte{'s', 'm', 'h', 'b', 'e', 'n', 'c', 'h'})
	c := crc64.New(crc64.MakeTable(crc64.ECMA))
	if _, err := io.CopyN(io.MultiWriter(w, c), rng, size); err != nil {
		f.Close()
		return 0, err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return c.Sum64(), f.Close()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// gzipSize returns the file's size raw and compressed at gzip level 9 (Go's compress/gzip, about 1% larger
// than GNU gzip -9, which the Makefile's budget uses).
func gzipSize(path string) (int64, int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	var n countWriter
	zw, _ := gzip.NewWriterLevel(&n, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return 0, 0, err
	}
	return int64(len(b)), int64(n), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// selfCPU is the user and system CPU time of this process in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func machine(chromium string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadAverage()}
	if out, err := exec.Command(chromium, "--version").Output(); err == nil {
		m.Chromium = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return m
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
