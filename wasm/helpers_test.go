//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/norunners/vert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
)

// The tests drive the JS API as a page does: upload() and the task methods
// are called through syscall/js on the object newAPI returns (the object
// load() resolves to), and on a second, real instance of the built module
// loaded through smh-upload.js. The emulators run natively; the control
// server of wasm/browsertest (SMH_CONTROL_URL) creates them and reads them.

const MiB = 1 << 20

// testTimeout guards each wait; nothing waits on time to synchronise.
const testTimeout = 3 * time.Minute

var api = newAPI()

func controlURL(t *testing.T) string {
	u := os.Getenv("SMH_CONTROL_URL")
	if u == "" {
		t.Skip("SMH_CONTROL_URL is not set: run the browser tests with make test-browser")
	}
	return u
}

// control calls the control server and decodes its JSON answer into out.
// A []byte body is sent as is, anything else as JSON.
func control(t *testing.T, method, path string, body, out any) {
	t.Helper()
	b, raw := body.([]byte)
	if body != nil && !raw {
		var err error
		b, err = json.Marshal(body)
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := fetchDoer{}.Do(ctx, &smh.Request{Method: method, URL: controlURL(t) + path, Header: smh.Header{}, Body: b})
	require.NoError(t, err, "%s %s", method, path)
	require.True(t, resp.StatusCode < 300, "%s %s: %d %s", method, path, resp.StatusCode, resp.Body)
	if out != nil {
		require.NoError(t, json.Unmarshal(resp.Body, out), "%s %s: %s", method, path, resp.Body)
	}
}

// emu is one emulator, deleted when the test ends.
type emu struct {
	t         *testing.T
	ID        string `json:"id"`
	Endpoint  string `json:"endpoint"`
	LibraryID string `json:"libraryId"`
	Token     string `json:"accessToken"`
	Secret    string `json:"librarySecret"` // only to check that it never shows
}

// emuConfig configures a new emulator: a signature TTL and a server clock
// offset (time.ParseDuration syntax).
type emuConfig struct {
	SignatureTTL string `json:"signatureTTL,omitempty"`
	Skew         string `json:"skew,omitempty"`
}

func newEmu(t *testing.T, cfg emuConfig) *emu {
	e := &emu{t: t}
	control(t, "POST", "/emulators", cfg, e)
	t.Cleanup(func() {
		control(t, "DELETE", "/emulators/"+e.ID, nil, nil)
		runtime.GC() // let go of the test's Files, so the page's Blobs do not pile up
	})
	return e
}

func (e *emu) path(op string) string { return "/emulators/" + e.ID + "/" + op }

func (e *emu) counts() map[string]int {
	var c map[string]int
	control(e.t, "GET", e.path("counts"), nil, &c)
	return c
}

type rule struct {
	Part   int    `json:"part,omitempty"`
	API    string `json:"api,omitempty"` // an SMH call by its selector: "renew", "confirm", …
	Action string `json:"action"`
	Skew   string `json:"skew,omitempty"`
}

// on sets rules that fire at the first arrival of a part number, or of an
// API call.
func (e *emu) on(rules ...rule) { control(e.t, "POST", e.path("rules"), rules, nil) }

// held waits until the first request of part n is held by a "hold" rule.
func (e *emu) held(n int) { control(e.t, "GET", e.path("held?part="+strconv.Itoa(n)), nil, nil) }

// arrivals returns the part numbers received since the last call.
func (e *emu) arrivals() []int {
	var a []int
	control(e.t, "GET", e.path("arrivals"), nil, &a)
	return a
}

func (e *emu) newToken() string {
	var tok struct{ AccessToken string }
	control(e.t, "POST", e.path("token"), nil, &tok)
	return tok.AccessToken
}

func (e *emu) openUploads() int {
	var n int
	control(e.t, "GET", e.path("open-uploads"), nil, &n)
	return n
}

func (e *emu) parts(key string) []int {
	var p []int
	control(e.t, "GET", e.path("parts?key="+key), nil, &p)
	return p
}

// storedCRC returns the CRC-64 and size of a stored file.
func (e *emu) storedCRC(path string) (crc string, size int64) {
	var f struct{ Size, CRC64 string }
	control(e.t, "GET", e.path("file?path="+path), nil, &f)
	size, err := strconv.ParseInt(f.Size, 10, 64)
	require.NoError(e.t, err)
	return f.CRC64, size
}

// expectedCRC is the CRC-64 of generated(size, seed), computed natively.
func expectedCRC(t *testing.T, size int64, seed uint32) string {
	var r struct{ CRC64 string }
	control(t, "GET", fmt.Sprintf("/expect?size=%d&seed=%d", size, seed), nil, &r)
	return r.CRC64
}

// generate makes a File in the page, never in Go memory. Its bytes are the
// test data stream: byte i is the top byte of the LCG x = x*1664525 +
// 1013904223 after (i mod P)+1 steps from seed, P = 5 MiB + 12345 (the
// control server's /expect computes the same). P is odd, so no two parts of
// a power-of-two part size are alike, and a File of any size is built from
// references to the Blobs of one period: a 1 GiB File costs the page 5 MiB.
// (Blobs with a few hundred MiB of their own bytes fail to upload from
// headless Chromium under concurrency, once it pages them out.)
var generate = jsGlobal.Get("Function").New("size", "seed", "name", "lastModified", `
	const MiB = 1048576, period = 5 * MiB + 12345;
	const pieces = [];
	let x = seed >>> 0;
	for (let off = 0; off < Math.min(size, period); off += MiB) {
		const b = new Uint8Array(Math.min(MiB, size - off, period - off));
		for (let i = 0; i < b.length; i++) {
			x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
			b[i] = x >>> 24;
		}
		pieces.push(new Blob([b]));
	}
	const parts = [];
	for (let off = 0, k = 0; off < size; k = (k + 1) % pieces.length) {
		const p = pieces[k];
		const n = Math.min(p.size, size - off);
		parts.push(n === p.size ? p : p.slice(0, n));
		off += n;
	}
	return new File(parts, name, { lastModified });
`)

func generated(size int64, seed uint32, name string) js.Value {
	return generate.Invoke(size, seed, name, 1700000000000+int64(seed))
}

// options is what a test passes to upload(): the emulator's endpoint and
// library, plus extra.
func (e *emu) options(extra map[string]any) map[string]any {
	o := map[string]any{"endpoint": e.Endpoint, "libraryId": e.LibraryID, "accessToken": e.Token}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// run is one upload() call with its events and progress recorded.
type run struct {
	t    *testing.T
	task js.Value

	mu       sync.Mutex
	events   []eventJS
	progress []progressJS
	states   chan string
	settled  bool // done settled: no callback comes after
}

// start calls upload on api (this module or a loaded one) with opts plus
// recording onEvent and onProgress callbacks.
func start(t *testing.T, api js.Value, file js.Value, opts map[string]any) *run {
	return startHooked(t, api, file, opts, nil)
}

// startHooked is start with hook called on every event after it is recorded,
// in the onEvent callback: it must not block.
func startHooked(t *testing.T, api js.Value, file js.Value, opts map[string]any, hook func(*run, eventJS)) *run {
	r := &run{t: t, states: make(chan string, 64)}
	onEvent := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var ev eventJS
		if err := vert.ValueOf(args[0]).AssignTo(&ev); err != nil {
			panic(err)
		}
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
		if ev.Type == smh.EventState {
			select {
			case r.states <- ev.State:
			default:
			}
		}
		if hook != nil {
			hook(r, ev)
		}
		return nil
	})
	onProgress := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var p progressJS
		if err := vert.ValueOf(args[0]).AssignTo(&p); err != nil {
			panic(err)
		}
		r.mu.Lock()
		r.progress = append(r.progress, p)
		r.mu.Unlock()
		return nil
	})
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.settled { // a task left paused keeps its callbacks
			onEvent.Release()
			onProgress.Release()
		}
	})
	o := js.ValueOf(opts)
	o.Set("onEvent", onEvent)
	o.Set("onProgress", onProgress)
	r.task = api.Call("upload", file, o)
	return r
}

// waitState waits for the task to report state.
func (r *run) waitState(state string) {
	r.t.Helper()
	timeout := time.After(testTimeout)
	for {
		select {
		case s := <-r.states:
			if s == state {
				return
			}
			require.NotEqual(r.t, "failed", s, "the upload failed while waiting for %s", state)
		case <-timeout:
			require.FailNow(r.t, "no state "+state)
		}
	}
}

// await waits for a promise of the page.
func awaitJS(t *testing.T, p js.Value) (js.Value, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	v, err := await(ctx, p, nil)
	require.NoError(t, ctx.Err(), "timed out")
	return v, err
}

// done waits for task.done and decodes its result.
func (r *run) done() fileInfoJS {
	r.t.Helper()
	v, err := awaitJS(r.t, r.task.Get("done"))
	r.setSettled()
	require.NoError(r.t, err)
	var fi fileInfoJS
	require.NoError(r.t, vert.ValueOf(v).AssignTo(&fi))
	return fi
}

// rejection is what task.done rejected with.
type rejection struct {
	IsError bool
	Name    string
	Message string
	errorFields
}

func (r *run) setSettled() {
	r.mu.Lock()
	r.settled = true
	r.mu.Unlock()
}

func (r *run) failure() rejection {
	r.t.Helper()
	_, err := awaitJS(r.t, r.task.Get("done"))
	r.setSettled()
	require.Error(r.t, err, "done should reject")
	return decodeRejection(r.t, err)
}

func decodeRejection(t *testing.T, err error) rejection {
	ex, ok := err.(jsException)
	require.True(t, ok, "a JS rejection, got %v", err)
	var rej rejection
	rej.IsError = ex.v.InstanceOf(jsError)
	rej.Name = ex.v.Get("name").String()
	rej.Message = ex.v.Get("message").String()
	if c := ex.v.Get("code"); c.Type() == js.TypeString {
		rej.Code = c.String()
	}
	if ex.v.Get("status").Type() == js.TypeNumber {
		require.NoError(t, vert.ValueOf(ex.v).AssignTo(&rej.errorFields))
	}
	return rej
}

func (r *run) eventsOf(typ string) []eventJS {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []eventJS
	for _, ev := range r.events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// checkProgress asserts the progress reports only went forward and ended at total.
func (r *run) checkProgress(total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(r.t, r.progress, "progress was reported")
	var last float64
	for _, p := range r.progress {
		assert.GreaterOrEqual(r.t, p.Loaded, last, "progress never goes backwards")
		assert.Equal(r.t, float64(total), p.Total)
		last = p.Loaded
	}
	end := r.progress[len(r.progress)-1]
	assert.Equal(r.t, float64(total), end.Loaded)
	assert.Equal(r.t, end.PartsTotal, end.PartsDone)
}

func ints(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func localStorageItem(key string) (string, bool) {
	v := jsGlobal.Get("localStorage").Call("getItem", key)
	if v.IsNull() {
		return "", false
	}
	return v.String(), true
}

// loaded is the built module (wasm/dist) loaded through smh-upload.js, as a
// page loads it: a second Go instance in this page, sharing its
// localStorage, as after a reload.
var loaded struct {
	once sync.Once
	api  js.Value
	err  error
}

var dynamicImport = jsGlobal.Get("Function").New("u", "return import(u)")

func loadedModule(t *testing.T) js.Value {
	base := controlURL(t) + "/dist/"
	loaded.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		mod, err := await(ctx, dynamicImport.Invoke(base+"smh-upload.js"), nil)
		if err != nil {
			loaded.err = err
			return
		}
		loaded.api, loaded.err = await(ctx, mod.Call("load"), nil)
	})
	require.NoError(t, loaded.err, "loading %ssmh-upload.js (make wasm builds it)", base)
	return loaded.api
}
