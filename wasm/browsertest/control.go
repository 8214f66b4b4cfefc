//go:build !js

package main

import (
	"encoding/json"
	"errors"
	"hash/crc64"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/nethttp"
)

// ops are the emulator operations whose counters /counts reports.
var ops = []string{
	"token.create", "token.renew", "begin.multipart", "begin.simple", "renew", "status", "confirm", "cancel",
	"directory.create", "file.head", "part", "object.put", "part.expired", "put.peak",
	"part.peak", "object.peak", "begin.form", "object.post", "api.preflight", "cos.preflight",
}

// holdTimeout bounds how long a held part and a /held wait last, so a
// failing test cannot hang the run.
const holdTimeout = 2 * time.Minute

// control is the HTTP API the browser tests drive the emulators through.
// Every answer allows any origin: the test page is served by wasmbrowsertest
// from another port.
//
//	POST   /emulators                      {"signatureTTL":"10m","skew":"1h"} → {"id","endpoint","libraryId","accessToken","librarySecret"}
//	DELETE /emulators/{id}
//	GET    /emulators/{id}/counts          → {"renew":1,…,"requests":9,"bytes":4194372}
//	POST   /emulators/{id}/rules           [{"part":3,"action":"expire"|"skew"|"hold"|"expire-tokens","skew":"11m"}, {"api":"renew","action":"hold"}]
//	POST   /emulators/{id}/barrier         {"parts":4,"action":"expire"|"expire-tokens"|"skew","skew":"…"}
//	POST   /emulators/{id}/faults          [{"kind":"parts"|"api"|"reset"|"stall"|"corrupt"|"latency","op":"renew","n":1,"status":503,"code":"SlowDown","retryAfter":"1s","delay":"…"}]
//	GET    /emulators/{id}/held?part=N     waits until a "hold" rule holds part N's first request (?api=renew: the first renew call;
//	                                       &gone=1: until the page aborted that held call)
//	POST   /emulators/{id}/release         lets held requests go on, and waits for held API calls to be answered
//	GET    /emulators/{id}/arrivals        part numbers received since the last call, in order
//	POST   /emulators/{id}/expose?on=false drops Access-Control-Expose-Headers on the COS host
//	POST   /emulators/{id}/token           → {"accessToken"}: a new token with smh.UploadGrants
//	GET    /emulators/{id}/file?path=P     → {"size","crc64"} of a stored file (404 when absent)
//	POST   /emulators/{id}/file?path=P     stores the request body as a confirmed file
//	GET    /emulators/{id}/open-uploads    → n
//	GET    /emulators/{id}/parts?key=K     → stored part numbers of an open task
//	GET    /expect?size=N&seed=S           → {"crc64"} of the test data generator's output
//	POST   /matrix-readme                  writes the body between the browser-matrix markers of the README
//	                                       named by SMH_MATRIX_README when the harness started (409 without)
//	GET    /dist/{file}                    the built module, for tests that load it like a page does
//	GET    /src/{file}                     the module's JavaScript sources, for tests of what the bundles hide
//
// The page reaches each emulator through a front (see front.go) that counts
// the requests and body bytes arriving at either host and can hold API calls.
type control struct {
	dist   string
	src    string // the folder of the module's JavaScript sources (wasm/)
	readme string // SMH_MATRIX_README: the README whose browser matrix /matrix-readme writes; "" for none

	mu   sync.Mutex
	next int
	emus map[string]*emu
}

type emu struct {
	*emulator.Server
	token    string
	endpoint string       // the API host's front, which the page uses
	apiFront *http.Server // API host front
	cosFront *http.Server // COS host front

	requests atomic.Int64 // requests (not CORS preflights) that reached either host
	bytes    atomic.Int64 // request body bytes the emulator read

	mu       sync.Mutex
	rules    map[int]rule    // by part number; each fires once
	apiRules map[string]rule // by API selector ("renew", "confirm", …); each fires once
	held     map[string]chan struct{}
	gone     map[string]chan struct{} // closed when the client of a held API call went away
	release  chan struct{}
	closed   chan struct{} // closed by close: every wait ends
	barrier  *barrier
	arrivals []int
	apiHeld  sync.WaitGroup // held API calls, until answered
}

type rule struct {
	Part   int    `json:"part"`
	API    string `json:"api"`
	Action string `json:"action"`
	Skew   string `json:"skew"`
}

func heldKey(part int, api string) string {
	if api != "" {
		return "api/" + api
	}
	return "part/" + strconv.Itoa(part)
}

func newControl(dist, src, readme string) *control {
	return &control{dist: dist, src: src, readme: readme, emus: map[string]*emu{}}
}

func (c *control) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.emus {
		e.close()
		delete(c.emus, id)
	}
}

func (e *emu) close() {
	e.mu.Lock()
	select {
	case <-e.closed:
	default:
		close(e.closed)
	}
	e.mu.Unlock()
	_ = e.Server.Close() // ends stalled parts
	_ = e.apiFront.Close()
	_ = e.cosFront.Close()
}

func (c *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
	h.Set("Access-Control-Allow-Headers", "content-type")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case strings.HasPrefix(path, "dist/"):
		serveFile(w, r, c.dist, strings.TrimPrefix(path, "dist/"))
	case strings.HasPrefix(path, "src/") && strings.HasSuffix(path, ".js"):
		serveFile(w, r, c.src, strings.TrimPrefix(path, "src/"))
	case path == "expect":
		c.expect(w, r)
	case path == "matrix-readme" && r.Method == http.MethodPost:
		c.writeReadme(w, r)
	case path == "emulators" && r.Method == http.MethodPost:
		c.create(w, r)
	case strings.HasPrefix(path, "emulators/"):
		id, op, _ := strings.Cut(strings.TrimPrefix(path, "emulators/"), "/")
		c.mu.Lock()
		e := c.emus[id]
		if e != nil && op == "" && r.Method == http.MethodDelete {
			delete(c.emus, id)
		}
		c.mu.Unlock()
		if e == nil {
			http.Error(w, "no emulator "+id, http.StatusNotFound)
			return
		}
		if op == "" && r.Method == http.MethodDelete {
			e.close()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		e.serve(w, r, op)
	default:
		http.NotFound(w, r)
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (c *control) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SignatureTTL string `json:"signatureTTL"`
		Skew         string `json:"skew"` // the server clock's offset from the real one
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	cfg := emulator.Config{}
	if req.SignatureTTL != "" {
		d, err := time.ParseDuration(req.SignatureTTL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cfg.SignatureTTL = d
	}
	var skew time.Duration
	if req.Skew != "" {
		d, err := time.ParseDuration(req.Skew)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		skew = d
	}
	c.mu.Lock()
	c.next++
	id := strconv.Itoa(c.next)
	c.mu.Unlock()
	cfg.AccessToken = "browser-test-token-SECRET-" + id
	cfg.LibrarySecret = "browser-test-library-SECRET-" + id
	e, err := startEmu(cfg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	e.SetSkew(skew)
	c.mu.Lock()
	c.emus[id] = e
	c.mu.Unlock()
	// The library secret is handed out only so that the tests can check it
	// never shows up in what the module reports; a page never has it.
	reply(w, map[string]string{"id": id, "endpoint": e.endpoint, "libraryId": e.LibraryID(), "accessToken": e.token,
		"librarySecret": cfg.LibrarySecret})
}

// onPart runs in the emulator's request goroutine when a part PUT arrives.
func (e *emu) onPart(p emulator.PartInfo) {
	e.mu.Lock()
	e.arrivals = append(e.arrivals, p.PartNumber)
	ru, ok := e.rules[p.PartNumber]
	delete(e.rules, p.PartNumber)
	b := e.barrier
	e.mu.Unlock()
	if ok {
		e.fire(ru)
	}
	if b != nil {
		b.arrive(e)
	}
}

// fire carries out a rule's action in the goroutine of the request that
// triggered it: a hold blocks that request until release.
func (e *emu) fire(ru rule) {
	switch ru.Action {
	case "expire":
		e.ExpireSignatures()
	case "expire-tokens":
		e.ExpireTokens()
		e.ExpireSignatures()
	case "skew":
		d, _ := time.ParseDuration(ru.Skew)
		e.SetSkew(d)
	case "hold":
		e.mu.Lock()
		reached, release := e.held[heldKey(ru.Part, ru.API)], e.release
		e.mu.Unlock()
		close(reached)
		select {
		case <-release:
		case <-e.closed:
		case <-time.After(holdTimeout):
		}
	}
}

// barrier holds the first n part requests until all n have arrived, then
// fires its action and lets them go on together: every slot is in flight
// when the action happens.
type barrier struct {
	n       int
	action  rule
	arrived int
	open    chan struct{}
}

func (b *barrier) arrive(e *emu) {
	e.mu.Lock()
	if b.arrived >= b.n {
		e.mu.Unlock()
		return
	}
	b.arrived++
	last := b.arrived == b.n
	e.mu.Unlock()
	if last {
		e.fire(b.action)
		close(b.open)
		return
	}
	select {
	case <-b.open:
	case <-e.closed:
	case <-time.After(holdTimeout):
	}
}

func (e *emu) serve(w http.ResponseWriter, r *http.Request, op string) {
	q := r.URL.Query()
	switch op {
	case "counts":
		out := map[string]int{}
		for _, o := range ops {
			out[o] = e.Count(o)
		}
		out["requests"] = int(e.requests.Load())
		out["bytes"] = int(e.bytes.Load())
		reply(w, out)
	case "rules":
		var rules []rule
		if err := json.NewDecoder(r.Body).Decode(&rules); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		for _, ru := range rules {
			if ru.API != "" {
				e.apiRules[ru.API] = ru
			} else {
				e.rules[ru.Part] = ru
			}
			if ru.Action == "hold" {
				e.held[heldKey(ru.Part, ru.API)] = make(chan struct{})
				e.gone[heldKey(ru.Part, ru.API)] = make(chan struct{})
			}
		}
		e.mu.Unlock()
		reply(w, len(rules))
	case "barrier":
		var req struct {
			Parts int `json:"parts"`
			rule
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Parts < 1 || req.Action == "hold" {
			http.Error(w, "want {\"parts\":n,\"action\":…}", http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		e.barrier = &barrier{n: req.Parts, action: req.rule, open: make(chan struct{})}
		e.mu.Unlock()
		reply(w, req.Parts)
	case "faults":
		var faults []fault
		if err := json.NewDecoder(r.Body).Decode(&faults); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, f := range faults {
			if err := f.apply(e.Emulator); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		reply(w, len(faults))
	case "held":
		n, _ := strconv.Atoi(q.Get("part"))
		e.mu.Lock()
		ch := e.held[heldKey(n, q.Get("api"))]
		if q.Get("gone") != "" {
			ch = e.gone[heldKey(n, q.Get("api"))]
		}
		e.mu.Unlock()
		if ch == nil {
			http.Error(w, "no hold rule for that part or call", http.StatusBadRequest)
			return
		}
		select {
		case <-ch:
			reply(w, n)
		case <-e.closed:
			http.Error(w, "the emulator was deleted", http.StatusGone)
		case <-r.Context().Done():
		case <-time.After(holdTimeout):
			http.Error(w, "the part did not arrive", http.StatusGatewayTimeout)
		}
	case "release":
		e.mu.Lock()
		close(e.release)
		e.release = make(chan struct{})
		e.mu.Unlock()
		e.apiHeld.Wait() // a released API call reaches the emulator before counts are read
		reply(w, true)
	case "arrivals":
		e.mu.Lock()
		a := e.arrivals
		e.arrivals = nil
		e.mu.Unlock()
		if a == nil {
			a = []int{}
		}
		reply(w, a)
	case "expose":
		e.SetExposeHeaders(q.Get("on") != "false")
		reply(w, true)
	case "token":
		tc, err := smh.NewTokenClient(e.Endpoint, e.LibraryID(), e.LibrarySecret(), nethttp.New())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		tok, err := tc.Create(r.Context(), smh.TokenOptions{Grant: smh.UploadGrants})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		reply(w, map[string]string{"accessToken": tok.AccessToken})
	case "file":
		space := q.Get("space")
		if space == "" {
			space = "-"
		}
		if r.Method == http.MethodPost {
			b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
			if err == nil {
				err = e.WriteFile(space, q.Get("path"), b)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			reply(w, len(b))
			return
		}
		fi, err := e.FileInfo(space, q.Get("path"))
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		reply(w, map[string]string{"size": strconv.FormatInt(fi.Size, 10), "crc64": smh.FormatCRC64(fi.CRC64), "path": fi.Path})
	case "open-uploads":
		reply(w, e.OpenUploads())
	case "parts":
		p := e.UploadedParts(q.Get("key"))
		if p == nil {
			p = []int{}
		}
		reply(w, p)
	default:
		http.NotFound(w, r)
	}
}

// expect answers the CRC-64 of the tests' data stream: byte i is the top
// byte of the LCG x = x·1664525 + 1013904223 (mod 2^32) after (i mod P)+1
// steps from seed, P = 5 MiB + 12345. The page generates the same bytes in JS.
func (c *control) expect(w http.ResponseWriter, r *http.Request) {
	size, err1 := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
	seed, err2 := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 32)
	if err1 != nil || err2 != nil || size < 0 || size > 64<<30 {
		http.Error(w, "bad size or seed", http.StatusBadRequest)
		return
	}
	reply(w, map[string]string{"crc64": smh.FormatCRC64(generatedCRC(size, uint32(seed)))})
}

const period = 5<<20 + 12345

func generatedCRC(size int64, seed uint32) uint64 {
	base := make([]byte, min(size, period))
	x := seed
	for i := range base {
		x = x*1664525 + 1013904223
		base[i] = byte(x >> 24)
	}
	h := crc64.New(smh.ECMATable)
	for off := int64(0); off < size; {
		b := base[off%period:]
		b = b[:min(int64(len(b)), size-off)]
		h.Write(b)
		off += int64(len(b))
	}
	return h.Sum64()
}

// serveFile serves the file name of dir, which must be a plain name.
func serveFile(w http.ResponseWriter, r *http.Request, dir, name string) {
	if name == "" || strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	switch filepath.Ext(name) {
	case ".wasm":
		w.Header().Set("Content-Type", "application/wasm")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	default:
		if t := mime.TypeByExtension(filepath.Ext(name)); t != "" {
			w.Header().Set("Content-Type", t)
		}
	}
	http.ServeFile(w, r, filepath.Join(dir, name))
}
