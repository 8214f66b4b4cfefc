package web

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// precompressed are the encodings `make wasm` writes beside smh.wasm, best
// first: Brotli 11 is about a quarter smaller than gzip -9.
var precompressed = []struct{ coding, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// StaticHandler serves the page's files, as the demo does (the bench serves
// the module through it too, so that it measures what users get). A .wasm
// goes out as application/wasm (WebAssembly.compileStreaming refuses anything
// else) and, when the client accepts it and the file is there, as its
// precompressed .br or .gz body: a server compressing on the fly would pick a
// fast level and send noticeably more.
//
// Every response is Cache-Control: no-cache with a strong ETag (a hash of the
// bytes sent), so a returning visitor revalidates and gets 304 Not Modified:
// the browser then uses its HTTP cache and, for smh.wasm, V8's code cache,
// which is keyed to the cached response. An embedded fs.FS has no
// modification times, so without the ETag every visit would download
// everything again and compile smh.wasm afresh.
func StaticHandler(assets fs.FS) http.Handler {
	files := http.FileServerFS(assets)
	tags := &etags{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if !strings.HasSuffix(r.URL.Path, ".wasm") {
			// http.FileServerFS answers If-None-Match itself when the ETag is set.
			if tag := tags.of(assets, name); tag != "" {
				w.Header().Set("ETag", tag)
			}
			files.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Add("Vary", "Accept-Encoding")
		// A Range request gets the raw file, so byte offsets always mean
		// offsets into smh.wasm; only whole GETs and HEADs are encoded.
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Range") == "" &&
			serveEncoded(w, r, assets, name, tags) {
			return
		}
		if tag := tags.of(assets, name); tag != "" {
			w.Header().Set("ETag", tag)
		}
		files.ServeHTTP(w, r)
	})
}

// etags holds the ETag of each file served, computed once per version of
// the file (its name, size and modification time, so a file rebuilt in a
// folder gets a new tag).
type etags struct{ m sync.Map }

type etagKey struct {
	name string
	size int64
	mod  time.Time
}

// of is the strong ETag of the file name in assets (of its index.html for
// a folder), or "" when there is none to read.
func (e *etags) of(assets fs.FS, name string) string {
	if name == "" || name == "." {
		name = "index.html"
	}
	st, err := fs.Stat(assets, name)
	if err == nil && st.IsDir() {
		name = path.Join(name, "index.html")
		st, err = fs.Stat(assets, name)
	}
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	key := etagKey{name, st.Size(), st.ModTime()}
	if v, ok := e.m.Load(key); ok {
		return v.(string)
	}
	f, err := assets.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	tag := `"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
	e.m.Store(key, tag)
	return tag
}

// noneMatch reports whether the request's If-None-Match names tag (weak
// comparison, RFC 9110 section 13.1.2), or is "*".
func noneMatch(r *http.Request, tag string) bool {
	for v := range strings.SplitSeq(r.Header.Get("If-None-Match"), ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == tag {
			return true
		}
	}
	return false
}

// serveEncoded writes name's precompressed body in the best coding that
// Accept-Encoding allows (or 304 when If-None-Match names it), and reports
// false, having written nothing, when there is none. It answers 200 without
// Accept-Ranges: ranges are served from the raw file.
func serveEncoded(w http.ResponseWriter, r *http.Request, assets fs.FS, name string, tags *etags) bool {
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
		// The encoded body's own tag: a strong ETag names one representation.
		if tag := tags.of(assets, name+c.ext); tag != "" {
			h.Set("ETag", tag)
			if noneMatch(r, tag) {
				w.WriteHeader(http.StatusNotModified)
				return true
			}
		}
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
