//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/norunners/vert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
)

// The browser fault matrix: the scenarios of the native matrix
// (smh/matrix_test.go) where the browser matters, run through the JS API in
// headless Chromium with multi-part Files, plus what only a page can get
// wrong (a File whose file on disk goes away, options of the wrong JS type).
// Each scenario ends with the stored file's CRC-64 equal to the source's, or
// with the expected error code and then task.cancel() leaving no task on the
// server; within scenarioBudget; and with neither the access tokens nor the
// library secret in any error, event or console line. With SMH_MATRIX_README
// set the table goes into the README (`make matrix`), through the harness.

// scenarioBudget bounds every scenario; the slowest takes a few seconds.
const scenarioBudget = 20 * time.Second

type bscenario struct {
	name string
	size int64 // of the generated File; 0 is an empty Blob
	emu  emuConfig
	// opts are added to the defaults: path m/file.bin, 1 MiB parts.
	opts map[string]any
	// provider, when set, makes getAccessToken mint tokens, failing when it
	// says so (call counts from 1).
	provider func(x *bx, call int) bool
	setup    func(x *bx)
	run      func(x *bx) result // default: one upload
	want     string             // "" for the file stored, else the error code
	check    func(x *bx, res result)
}

// bx is one scenario's world.
type bx struct {
	t       *testing.T
	ctx     context.Context // ends at the scenario's budget
	e       *emu
	size    int64
	seed    uint32
	file    js.Value
	opts    map[string]any
	secrets []string

	mu         sync.Mutex
	runs       []*run
	errs       []string // every rejection, described
	calls      int      // getAccessToken calls
	brokerBack bool     // the failing provider works again
	getToken   js.Func
}

// result is how a scenario's upload ended.
type result struct {
	task js.Value
	fi   fileInfoJS
	rej  *rejection
}

func (x *bx) options() map[string]any {
	o := x.e.options(map[string]any{"path": "m/file.bin", "partSize": MiB})
	for k, v := range x.opts {
		o[k] = v
	}
	return o
}

var ignore = js.FuncOf(func(js.Value, []js.Value) any { return nil })

// start uploads x's File with x's options on module m (api, or the built
// module loaded as after a reload).
func (x *bx) start(m js.Value, hook func(*run, eventJS)) *run {
	r := startHooked(x.t, m, x.file, x.options(), hook)
	// done is awaited later, maybe after it rejected: a cancel comes first.
	// Handled now, it is not reported as an unhandled rejection meanwhile.
	r.task.Get("done").Call("catch", ignore)
	x.mu.Lock()
	x.runs = append(x.runs, r)
	x.mu.Unlock()
	return r
}

// await waits for a promise of the page within the scenario's budget.
func (x *bx) await(p js.Value) (js.Value, error) {
	x.t.Helper()
	v, err := await(x.ctx, p, nil)
	require.NoError(x.t, x.ctx.Err(), "the scenario did not end within %s", scenarioBudget)
	return v, err
}

// settle waits for r's done.
func (x *bx) settle(r *run) result {
	x.t.Helper()
	v, err := x.await(r.task.Get("done"))
	r.setSettled()
	res := result{task: r.task}
	if err != nil {
		rej := decodeRejection(x.t, err)
		res.rej = &rej
		x.mu.Lock()
		x.errs = append(x.errs, describeError.Invoke(err.(jsException).v).String())
		x.mu.Unlock()
		return res
	}
	require.NoError(x.t, vert.ValueOf(v).AssignTo(&res.fi))
	return res
}

func (x *bx) upload() result { return x.settle(x.start(api, nil)) }

func (x *bx) waitState(r *run, state string) {
	x.t.Helper()
	for {
		select {
		case s := <-r.states:
			if s == state {
				return
			}
			require.NotEqual(x.t, smh.StateFailed, s, "the upload failed while waiting for %s", state)
		case <-x.ctx.Done():
			require.FailNow(x.t, "no state "+state)
		}
	}
}

func (x *bx) cancel(task js.Value) {
	x.t.Helper()
	_, err := x.await(task.Call("cancel"))
	require.NoError(x.t, err, "task.cancel()")
}

func (x *bx) faults(f ...map[string]any) { control(x.t, "POST", x.e.path("faults"), f, nil) }

func (x *bx) barrier(parts int, action string) {
	control(x.t, "POST", x.e.path("barrier"), map[string]any{"parts": parts, "action": action}, nil)
}

func (x *bx) release() { control(x.t, "POST", x.e.path("release"), nil, nil) }

func (x *bx) events(typ string) []eventJS {
	var out []eventJS
	for _, r := range x.runs {
		out = append(out, r.eventsOf(typ)...)
	}
	return out
}

// provide plugs in getAccessToken: tokens minted by the library's broker
// (the control server), or a rejection when x's scenario says so.
func (x *bx) provide(fail func(x *bx, call int) bool) {
	x.getToken = js.FuncOf(func(js.Value, []js.Value) any {
		x.mu.Lock()
		x.calls++
		n := x.calls
		x.mu.Unlock()
		if fail(x, n) {
			return jsPromise.Call("reject", jsError.New("token broker unavailable"))
		}
		return newPromise(func() (any, error) {
			tok := x.e.newToken()
			x.mu.Lock()
			x.secrets = append(x.secrets, tok)
			x.mu.Unlock()
			return tok, nil
		})
	})
	x.opts["getAccessToken"] = x.getToken
}

// describeError is all an Error says: String(err) and its own properties.
var describeError = jsGlobal.Get("Function").New("e", `
	try { return String(e) + " " + JSON.stringify(e, Object.getOwnPropertyNames(e)); } catch { return String(e); }
`)

// captureConsole records every console line the page prints from now on.
var captureConsole = jsGlobal.Get("Function").New(`
	const lines = [], orig = {};
	for (const k of ["log", "info", "warn", "error", "debug"]) {
		orig[k] = console[k];
		console[k] = function (...args) {
			lines.push(args.map((a) => {
				try { return typeof a === "string" ? a : a instanceof Error ? String(a) : JSON.stringify(a); } catch { return String(a); }
			}).join(" "));
			return orig[k].apply(this, args);
		};
	}
	return { take: () => lines.splice(0).join("\n"), restore: () => Object.assign(console, orig) };
`)

// opfs makes and breaks Files backed by real files on disk, in the page's
// origin private file system: a File from getFile() is a snapshot that
// refuses to be read once its file is removed (NotFoundError) or written
// (NotReadableError), as a File picked from disk does when the file is
// deleted or edited under the page. op is "create" (→ the File), "write" or
// "remove".
var opfs = jsGlobal.Get("Function").New("op", "name", "blob", `
	return (async () => {
		const root = await navigator.storage.getDirectory();
		if (op === "remove") {
			await root.removeEntry(name).catch(() => {});
			return null;
		}
		const fh = await root.getFileHandle(name, { create: true });
		const w = await fh.createWritable();
		await w.write(blob);
		await w.close();
		return op === "create" ? fh.getFile() : null;
	})();
`)

func (x *bx) opfs(op, name string, blob js.Value) js.Value {
	x.t.Helper()
	v, err := x.await(opfs.Invoke(op, name, blob))
	require.NoError(x.t, err, "opfs %s %s", op, name)
	return v
}

// diskFile replaces the scenario's File with one backed by a file on disk
// that brk breaks while part 2 is held at the server.
func diskFile(brk string) bscenario {
	return bscenario{size: 4 * MiB, opts: map[string]any{"concurrency": 1}, want: smh.CodeSourceRead,
		setup: func(x *bx) {
			name := fmt.Sprintf("matrix-%d.bin", x.seed)
			x.file = x.opfs("create", name, x.file)
			x.t.Cleanup(func() { _, _ = await(context.Background(), opfs.Invoke("remove", name, js.Null()), nil) })
			x.e.on(rule{Part: 2, Action: "hold"})
		},
		run: func(x *bx) result {
			r := x.start(api, nil)
			x.e.held(2)
			name := x.file.Get("name").String()
			if brk == "remove" {
				x.opfs("remove", name, js.Null())
			} else {
				x.opfs("write", name, generated(4*MiB, x.seed+1, name))
			}
			x.release()
			return x.settle(r)
		},
		check: func(x *bx, res result) {
			assert.False(x.t, res.rej.Retryable)
			assert.NotEmpty(x.t, res.rej.ConfirmKey, "the parts sent stay: resumable once the file is back")
			assert.LessOrEqual(x.t, res.rej.Attempts, 1, "a file that is gone is not retried")
			assert.Empty(x.t, x.events(smh.EventRetry), "no retry")
			assert.Equal(x.t, 0, x.e.counts()["confirm"])
		}}
}

func named(name string, sc bscenario) bscenario { sc.name = name; return sc }

func browserScenarios() []bscenario {
	retriesWith := func(x *bx, code string) []eventJS {
		var out []eventJS
		for _, ev := range x.events(smh.EventRetry) {
			if ev.Code == code {
				out = append(out, ev)
			}
		}
		return out
	}
	mint := func(*bx, int) bool { return false }
	return []bscenario{
		{name: "500/502/503/504 burst on parts", size: 6 * MiB,
			setup: func(x *bx) {
				for _, s := range []int{500, 502, 503, 504} {
					x.faults(map[string]any{"kind": "parts", "n": 1, "status": s})
				}
			},
			check: func(x *bx, _ result) {
				var statuses []int
				for _, ev := range x.events(smh.EventRetry) {
					statuses = append(statuses, ev.Status)
				}
				assert.ElementsMatch(x.t, []int{500, 502, 503, 504}, statuses, "one retry per failed attempt")
			}},
		{name: "429 with Retry-After on begin and parts", size: 4 * MiB,
			setup: func(x *bx) {
				x.faults(map[string]any{"kind": "api", "op": "begin.multipart", "n": 1, "status": 429, "code": "RateLimitExceeded", "retryAfter": "1s"},
					map[string]any{"kind": "parts", "n": 2, "status": 429, "code": "RateLimitExceeded", "retryAfter": "1s"})
			},
			check: func(x *bx, _ result) {
				evs := retriesWith(x, "RateLimitExceeded")
				require.Len(x.t, evs, 3)
				for _, ev := range evs {
					assert.GreaterOrEqual(x.t, ev.Delay, float64(1000), "Retry-After is honoured")
				}
			}},
		{name: "SlowDown", size: 4 * MiB,
			setup: func(x *bx) { x.faults(map[string]any{"kind": "parts", "n": 3, "status": 503, "code": "SlowDown"}) },
			check: func(x *bx, _ result) { assert.Len(x.t, retriesWith(x, "SlowDown"), 3) }},
		{name: "connection reset mid-body", size: 4 * MiB,
			setup: func(x *bx) { x.faults(map[string]any{"kind": "reset", "n": 3}) },
			check: func(x *bx, _ result) { assert.GreaterOrEqual(x.t, x.e.counts()["part"], 4+3) }},
		{name: "stalled part", size: 3 * MiB, opts: map[string]any{"concurrency": 1, "stallTimeout": 1000},
			setup: func(x *bx) { x.faults(map[string]any{"kind": "stall", "n": 1}) },
			// At least one: a healthy part that waits a second for its
			// answer on a loaded machine is retried as stalled too.
			check: func(x *bx, _ result) { assert.NotEmpty(x.t, retriesWith(x, smh.CodeStalled)) }},
		{name: "wrong CRC-64 once", size: 3 * MiB,
			setup: func(x *bx) { x.faults(map[string]any{"kind": "corrupt", "n": 1}) },
			check: func(x *bx, _ result) { assert.Len(x.t, retriesWith(x, smh.CodeIntegrity), 1) }},
		{name: "wrong CRC-64 always", size: 3 * MiB, want: smh.CodeIntegrity,
			setup: func(x *bx) { x.faults(map[string]any{"kind": "corrupt", "n": 1000}) },
			check: func(x *bx, _ result) { assert.Equal(x.t, 0, x.e.counts()["confirm"], "never confirms a wrong file") }},
		// A file under smh.FormThreshold goes as a form upload: the faults
		// are its form POST's, and it is retried as a part is.
		{name: "small file (form upload): 503 once", size: 100 << 10,
			setup: func(x *bx) { x.faults(map[string]any{"kind": "parts", "n": 1, "status": 503, "code": "SlowDown"}) },
			check: checkForm(2)},
		{name: "small file (form upload): connection reset once", size: 100 << 10,
			setup: func(x *bx) { x.faults(map[string]any{"kind": "reset", "n": 1}) },
			check: checkForm(2)},
		{name: "small file (form upload): wrong CRC-64 once", size: 100 << 10,
			setup: func(x *bx) { x.faults(map[string]any{"kind": "corrupt", "n": 1}) },
			check: func(x *bx, r result) {
				assert.Len(x.t, retriesWith(x, smh.CodeIntegrity), 1)
				checkForm(2)(x, r)
			}},
		// The server's clock jumps 7 of the signatures' 10 minutes while
		// parts are in flight: a client on the server's clock (learned from
		// Date, an hour off the page's) renews ahead exactly once, and no
		// part is refused. One on the page's clock renews never (ahead) or
		// before every part (behind).
		{name: "server clock one hour ahead of the page", size: 6 * MiB, emu: emuConfig{SignatureTTL: "10m", Skew: "1h"},
			opts:  map[string]any{"concurrency": 2},
			setup: func(x *bx) { x.e.on(rule{Part: 3, Action: "skew", Skew: "1h7m"}) },
			check: checkSkew},
		{name: "server clock one hour behind the page", size: 6 * MiB, emu: emuConfig{SignatureTTL: "10m", Skew: "-1h"},
			opts:  map[string]any{"concurrency": 2},
			setup: func(x *bx) { x.e.on(rule{Part: 3, Action: "skew", Skew: "-53m"}) },
			check: checkSkew},
		{name: "signatures expire while every slot is in flight", size: 8 * MiB, opts: map[string]any{"concurrency": 4},
			setup: func(x *bx) { x.barrier(4, "expire") },
			check: func(x *bx, _ result) {
				c := x.e.counts()
				assert.Equal(x.t, 1, c["renew"], "one renew for all four parts")
				assert.Equal(x.t, 4, c["part.expired"])
			}},
		{name: "renew fails once with 500", size: 6 * MiB, opts: map[string]any{"concurrency": 4},
			setup: func(x *bx) {
				x.faults(map[string]any{"kind": "api", "op": "renew", "n": 1, "status": 500, "code": "InternalServerError"})
				x.barrier(4, "expire")
			},
			check: func(x *bx, _ result) {
				assert.Equal(x.t, 2, x.e.counts()["renew"], "the failed renew and its retry")
				assert.Len(x.t, x.events(smh.EventRenew), 1)
			}},
		{name: "access token expires mid-upload, with the signatures (getAccessToken)", size: 4 * MiB, provider: mint,
			setup: func(x *bx) { x.barrier(2, "expire-tokens") },
			check: func(x *bx, _ result) {
				assert.Equal(x.t, 1, x.calls, "one new token")
				assert.Len(x.t, x.events(smh.EventToken), 1)
			}},
		{name: "token provider fails once", size: 3 * MiB,
			provider: func(_ *bx, call int) bool { return call == 1 },
			setup:    func(x *bx) { x.barrier(1, "expire-tokens") },
			check:    func(x *bx, _ result) { assert.Equal(x.t, 2, x.calls) }},
		{name: "token provider always fails", size: 3 * MiB, want: smh.CodeTokenRefresh,
			provider: func(x *bx, _ int) bool { return !x.brokerBack },
			setup:    func(x *bx) { x.barrier(1, "expire-tokens") },
			check: func(x *bx, res result) {
				assert.Contains(x.t, res.rej.Message, "access token refresh failed")
				assert.Contains(x.t, res.rej.Message, "token broker unavailable", "the provider's own words")
			}},
		{name: "cancel during a renew", size: 6 * MiB, opts: map[string]any{"concurrency": 4}, want: smh.CodeCanceled,
			setup: func(x *bx) {
				x.barrier(4, "expire")
				x.e.on(rule{API: "renew", Action: "hold"})
			},
			run: func(x *bx) result {
				r := x.start(api, nil)
				control(x.t, "GET", x.e.path("held?api=renew"), nil, nil)
				x.cancel(r.task) // the renew is on the wire
				x.release()
				return x.settle(r)
			},
			check: func(x *bx, res result) {
				assert.Equal(x.t, "AbortError", res.rej.Name)
				assert.Equal(x.t, 1, x.e.counts()["cancel"])
			}},
		{name: "pause during a retry backoff, then resume", size: 4 * MiB, opts: map[string]any{"concurrency": 1},
			// Retry-After 30 s: if pause did not end the backoff, the
			// scenario would blow its budget.
			setup: func(x *bx) {
				x.faults(map[string]any{"kind": "parts", "n": 1, "status": 503, "code": "SlowDown", "retryAfter": "30s"})
			},
			run: func(x *bx) result {
				r := x.start(api, func(r *run, ev eventJS) {
					if ev.Type == smh.EventRetry {
						go r.task.Call("pause") // runs once the engine sleeps
					}
				})
				t0 := time.Now()
				x.waitState(r, smh.StatePaused)
				assert.Less(x.t, time.Since(t0), 10*time.Second, "pause ends the backoff")
				r.task.Call("resume")
				return x.settle(r)
			},
			check: func(x *bx, _ result) {
				require.Len(x.t, x.events(smh.EventRetry), 1)
				assert.Equal(x.t, float64(30000), x.events(smh.EventRetry)[0].Delay)
				assert.Len(x.t, x.events(smh.EventResume), 1)
			}},
		{name: "two tasks for the same file at once", size: 4 * MiB,
			run: func(x *bx) result {
				r1, r2 := x.start(api, nil), x.start(api, nil)
				res1, res2 := x.settle(r1), x.settle(r2)
				require.Nil(x.t, res2.rej)
				p1, p2 := strings.Join(res1.fi.Path, "/"), strings.Join(res2.fi.Path, "/")
				assert.NotEqual(x.t, p1, p2, "one of them was renamed")
				crc, _ := x.e.storedCRC(p2)
				assert.Equal(x.t, expectedCRC(x.t, x.size, x.seed), crc, "the other copy is intact")
				return res1
			}},
		{name: "page reload at 50%, then resume", size: 8 * MiB, opts: map[string]any{"concurrency": 1, "resume": true},
			setup: func(x *bx) { x.e.on(rule{Part: 5, Action: "hold"}) },
			run: func(x *bx) result {
				first := x.start(api, nil)
				x.e.held(5)
				first.task.Call("pause") // the tab goes away with part 5 on the wire
				x.waitState(first, smh.StatePaused)
				x.e.arrivals()
				begun := x.e.counts()["begin.multipart"]
				res := x.settle(x.start(loadedModule(x.t), nil)) // the reloaded page, same File
				assert.Equal(x.t, begun, x.e.counts()["begin.multipart"], "the saved task was continued")
				return res
			},
			check: func(x *bx, _ result) {
				assert.Equal(x.t, ints(5, 8), x.e.arrivals(), "only the missing parts were sent")
				require.Len(x.t, x.runs[1].eventsOf(smh.EventResume), 1)
				assert.Equal(x.t, 4, x.runs[1].eventsOf(smh.EventResume)[0].PartsDone)
			}},
		named("file deleted under the page mid-upload", diskFile("remove")),
		named("file changed under the page mid-upload", diskFile("write")),
		{name: "0-byte Blob", size: 0},
		{name: `partSize "abc"`, size: MiB, opts: map[string]any{"partSize": "abc"}, want: smh.CodeInvalidInput},
		{name: "negative part size", size: MiB, opts: map[string]any{"partSize": -1}, want: smh.CodeInvalidPartSize},
		{name: "negative concurrency", size: MiB, opts: map[string]any{"concurrency": -1}, want: smh.CodeInvalidConcurrency},
		{name: "negative stallTimeout", size: MiB, opts: map[string]any{"stallTimeout": -1}, want: smh.CodeInvalidInput},
		{name: "path with ..", size: MiB, opts: map[string]any{"path": "m/../../etc/passwd"}, want: smh.CodeIllegalPath},
		{name: "path with control characters", size: MiB, opts: map[string]any{"path": "m/a\x07b.txt"}, want: smh.CodeIllegalPath},
		{name: `conflict "ask" on an existing file`, size: 2 * MiB, opts: map[string]any{"conflict": "ask"},
			want:  "SameNameDirectoryOrFileExists",
			setup: func(x *bx) { control(x.t, "POST", x.e.path("file?path=m/file.bin"), []byte("old"), nil) },
			check: func(x *bx, _ result) {
				_, size := x.e.storedCRC("m/file.bin")
				assert.Equal(x.t, int64(3), size, "the existing file is untouched")
			}},
	}
}

// checkForm checks that the file went as a form upload, in posts
// attempts, with no simple upload and no preflight on the storage host
// (the API host's is the folder's creation, a PUT).
func checkForm(posts int) func(*bx, result) {
	return func(x *bx, _ result) {
		c := x.e.counts()
		assert.Equal(x.t, posts, c["object.post"])
		assert.Zero(x.t, c["begin.simple"]+c["object.put"]+c["cos.preflight"])
	}
}

func checkSkew(x *bx, _ result) {
	c := x.e.counts()
	assert.Equal(x.t, 0, c["part.expired"], "no part refused as expired")
	assert.Equal(x.t, 1, c["renew"], "exactly one renew, ahead of expiration")
	if evs := x.events(smh.EventRenew); assert.Len(x.t, evs, 1) {
		assert.Equal(x.t, "expiring", evs[0].Reason)
	}
}

type browserRow struct {
	name, outcome          string
	requests, bytes, renew int
}

func TestFaultMatrix(t *testing.T) {
	controlURL(t)
	console := captureConsole.Invoke()
	defer console.Call("restore")
	var rows []browserRow
	for i, sc := range browserScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), scenarioBudget)
			defer cancel()
			x := &bx{t: t, ctx: ctx, e: newEmu(t, sc.emu), size: sc.size, seed: uint32(100 + i), opts: map[string]any{}}
			x.secrets = []string{x.e.Token, x.e.Secret}
			require.NotEmpty(t, x.e.Secret)
			for k, v := range sc.opts {
				x.opts[k] = v
			}
			if sc.size > 0 {
				x.file = generated(sc.size, x.seed, "file.bin")
			} else {
				x.file = jsBlob.New(js.ValueOf([]any{}))
			}
			if sc.provider != nil {
				x.provide(sc.provider)
				defer x.getToken.Release()
			}
			console.Call("take")
			t0 := time.Now()
			if sc.setup != nil {
				sc.setup(x)
			}
			run := sc.run
			if run == nil {
				run = (*bx).upload
			}
			res := run(x)
			elapsed := time.Since(t0)

			var outcome string
			if sc.want == "" {
				require.Nil(t, res.rej, "the upload should succeed: %+v", res.rej)
				want := "0"
				if sc.size > 0 {
					want = expectedCRC(t, sc.size, x.seed)
				}
				crc, size := x.e.storedCRC(strings.Join(res.fi.Path, "/"))
				require.Equal(t, want, crc, "stored CRC-64")
				assert.Equal(t, sc.size, size)
				assert.Equal(t, want, res.fi.CRC64)
				outcome = "stored, CRC-64 equal"
			} else {
				require.NotNil(t, res.rej, "the upload should fail with %s", sc.want)
				assert.True(t, res.rej.IsError, "a real Error")
				require.Equal(t, sc.want, res.rej.Code, res.rej.Message)
				outcome = "typed error `" + res.rej.Code + "`"
				if res.rej.Name == "TypeError" {
					outcome += " (TypeError)"
				}
			}
			if sc.check != nil {
				sc.check(x, res)
			}
			if res.rej != nil {
				// The task can still be cancelled (the broker being back,
				// should it have been the problem).
				x.mu.Lock()
				x.brokerBack = true
				x.mu.Unlock()
				x.cancel(res.task)
				// An AbortError comes from a cancel: the task is gone, and
				// its confirm key may be too.
				if res.rej.ConfirmKey != "" || res.rej.Name == "AbortError" {
					outcome += ", task cancelled cleanly"
				}
			}
			assert.Equal(t, 0, x.e.openUploads(), "no task left on the server")
			c := x.e.counts()
			if res.rej != nil && (res.rej.Op == "validate" || res.rej.Name == "TypeError") {
				assert.Zero(t, c["requests"], "bad arguments send nothing")
			}
			assert.Less(t, elapsed, scenarioBudget)

			// No secret in anything the page was told or printed.
			var seen strings.Builder
			x.mu.Lock()
			for _, s := range x.errs {
				seen.WriteString(s + "\n")
			}
			x.mu.Unlock()
			for _, r := range x.runs {
				r.mu.Lock()
				for _, ev := range r.events {
					fmt.Fprintf(&seen, "%+v\n", ev)
				}
				r.mu.Unlock()
			}
			seen.WriteString(console.Call("take").String())
			for _, secret := range x.secrets {
				for _, line := range strings.Split(seen.String(), "\n") {
					if strings.Contains(line, secret) { // told without the secret itself
						t.Errorf("a secret (%.12s…) showed: %s", secret, strings.ReplaceAll(line, secret, "<SECRET>"))
					}
				}
			}
			t.Logf("%s in %s: %d requests, %d bytes, %d renews", outcome, elapsed.Round(time.Millisecond), c["requests"], c["bytes"], c["renew"])
			rows = append(rows, browserRow{name: sc.name, outcome: outcome, requests: c["requests"], bytes: c["bytes"], renew: c["renew"]})
		})
	}
	if os.Getenv("SMH_MATRIX_README") != "" && !t.Failed() {
		control(t, "POST", "/matrix-readme", map[string]string{"section": matrixTable(rows)}, nil)
	}
}

// matrixTable is the README's browser matrix.
func matrixTable(rows []browserRow) string {
	var b strings.Builder
	b.WriteString("| scenario (browser: JS API in headless Chromium + emulator) | outcome | requests | bytes sent | renews |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d |\n", r.name, r.outcome, r.requests, r.bytes, r.renew)
	}
	fmt.Fprintf(&b, "\n%d scenarios, generated by `make matrix`. Requests, body bytes and renew calls as they reached the emulator:\n"+
		"CORS preflights are not counted, renew calls refused for a stale token are.\n", len(rows))
	return b.String()
}
