//go:build !js

package bench

// The pages Chromium loads: the harness page, the modules and cos-js-sdk-v5, with preload tags.

import (
	"bytes"
	"encoding/json"
	"html"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/smhupload/smh-upload/web"
)

// pageServer serves the pages, and counts the requests for each path: the start-up table checks with
// them that a preloaded smh.wasm is not fetched a second time.
type pageServer struct {
	http.Handler
	mu       sync.Mutex
	requests map[string]int
	// immutable are the module folders (module-<id>) served with a year's max-age instead of the
	// static handler's no-cache: a returning visitor's browser then asks nothing before it runs them.
	immutable map[string]bool
}

// immutableCache is the Cache-Control of the files in pageServer.immutable: what a site whose file
// names carry a hash of their contents (a bundler's output) can send.
const immutableCache = "public, max-age=31536000, immutable"

// cacheControlWriter sets Cache-Control to cc just before the headers go out, over the handler's own.
type cacheControlWriter struct {
	http.ResponseWriter
	cc    string
	wrote bool
}

func (w *cacheControlWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.Header().Set("Cache-Control", w.cc)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cacheControlWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// takeRequests returns the requests per path since the last call, and starts counting afresh.
func (s *pageServer) takeRequests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := maps.Clone(s.requests)
	clear(s.requests)
	return out
}

// pageHandler serves the page, the start-up pages (/startup), the modules under /module/ and
// /module-<id>/ (from siteDir) and cos-js-sdk-v5 under /cos/. The modules go through the demo's own
// static handler (smh.wasm precompressed, every file revalidated by its ETag), so the bench fetches them
// as users do.
func pageHandler(siteDir, cosSDK string) *pageServer {
	sub, err := fs.Sub(pageFiles, "page")
	if err != nil {
		panic(err) // embedded above
	}
	s := &pageServer{requests: map[string]int{}, immutable: map[string]bool{}}
	mux := http.NewServeMux()
	page, modules := http.FileServerFS(sub), web.StaticHandler(os.DirFS(siteDir))
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
			if site, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); s.immutable[site] {
				w = &cacheControlWriter{ResponseWriter: w, cc: immutableCache}
			}
			modules.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
	mux.HandleFunc("/startup", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		base := q.Get("base")
		if base == "" {
			base = "/module"
		}
		w.Write(startupPage(Kind(q.Get("kind")), base, q.Get("preload") == "1", q.Get("inpage") == "1"))
	})
	// cos-js-sdk-v5 as a static host would serve it: revalidated by its modification time.
	mux.HandleFunc("/cos/cos-js-sdk-v5.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFile(w, r, cosSDK)
	})
	s.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		s.mu.Unlock()
		// The harness's pages are never cached; the modules' and the SDK's handlers say otherwise.
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
	return s
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
		links = readmePreloads(c.ModuleBase)
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
	pageTargets
}

// pageTargets are what a bench page uploads to, for the module and for cos-js-sdk-v5 alike: the
// emulator's endpoints, library and token, the path (a file's, or the queue's folder), where the
// module and the SDK are served, and the COS credentials, bucket and region.
type pageTargets struct {
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

// pageTargets are the bench's targets for an upload to path.
func (h *harness) pageTargets(path string) pageTargets {
	return pageTargets{Endpoint: h.endpoint, COSEndpoint: h.cosEndpoint, LibraryID: h.emu.LibraryID(), Token: benchToken,
		Path: path, ModuleBase: "/module", COSSDK: "/cos/cos-js-sdk-v5.min.js",
		SecretID: cosSecretID, SecretKey: cosSecret, Bucket: cosBucket, Region: cosRegion}
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
