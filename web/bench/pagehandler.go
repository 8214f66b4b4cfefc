//go:build !js

package bench

// The pages Chromium loads: the harness page, the modules and cos-js-sdk-v5, with preload tags.

import (
	"bytes"
	"encoding/json"
	"html"
	"io/fs"
	"net/http"
	"strings"
)

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
