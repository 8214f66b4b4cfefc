package web

import (
	"cmp"
	"io"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// precompressed are the encodings `make wasm` writes beside smh.wasm, best
// first: Brotli 11 is about a quarter smaller than gzip -9.
var precompressed = []struct{ coding, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// staticHandler serves the page's files. A .wasm goes out as
// application/wasm (WebAssembly.compileStreaming refuses anything else) and,
// when the client accepts it and the file is there, as its precompressed
// .br or .gz body: a server compressing on the fly would pick a fast level
// and send noticeably more.
func staticHandler(assets fs.FS) http.Handler {
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		if !strings.HasSuffix(r.URL.Path, ".wasm") {
			files.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Add("Vary", "Accept-Encoding")
		// A Range request gets the raw file, so byte offsets always mean
		// offsets into smh.wasm; only whole GETs and HEADs are encoded.
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Range") == "" &&
			serveEncoded(w, r, assets, strings.TrimPrefix(path.Clean(r.URL.Path), "/")) {
			return
		}
		files.ServeHTTP(w, r)
	})
}

// serveEncoded writes name's precompressed body in the best coding that
// Accept-Encoding allows, and reports false, having written nothing, when
// there is none. It answers 200 without Accept-Ranges: ranges are served from
// the raw file.
func serveEncoded(w http.ResponseWriter, r *http.Request, assets fs.FS, name string) bool {
	type candidate struct {
		coding, ext string
		q           float64
	}
	var cands []candidate
	for _, p := range precompressed {
		if q := acceptQ(r.Header.Get("Accept-Encoding"), p.coding); q > 0 {
			cands = append(cands, candidate{p.coding, p.ext, q})
		}
	}
	// Highest q first; on a tie (the usual "gzip, deflate, br, zstd") the smaller body.
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(b.q, a.q) })
	for _, c := range cands {
		f, err := assets.Open(name + c.ext)
		if err != nil {
			continue // not built: try the next coding, then the raw file
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		h := w.Header()
		h.Set("Content-Encoding", c.coding)
		h.Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = io.Copy(w, f) // a failed copy is a gone client: nothing left to tell it
		}
		return true
	}
	return false
}

// acceptQ is the quality that an Accept-Encoding value gives coding: its own
// entry's q, else the q of "*", else 0 (RFC 9110, section 12.5.3). A missing
// q is 1; an unreadable one counts as 0, so a garbled header gets the raw file.
func acceptQ(accept, coding string) float64 {
	q, star := -1.0, -1.0
	for entry := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(entry, ";")
		name = strings.TrimSpace(name)
		v := 1.0
		for param := range strings.SplitSeq(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				v = f
			}
		}
		switch {
		case strings.EqualFold(name, coding):
			q = v
		case name == "*":
			star = v
		}
	}
	switch {
	case q >= 0:
		return q
	case star >= 0:
		return star
	}
	return 0
}
