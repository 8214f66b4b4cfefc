//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall/js"
	"testing"

	"github.com/norunners/vert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
)

// qrun is one queue() call with its onProgress and onFile calls recorded.
type qrun struct {
	t *testing.T
	q js.Value

	mu       sync.Mutex
	progress []queueProgressJS
	states   map[string]int // onFile calls by state
}

// startQueue calls queue on m (this module or a loaded one) with opts plus
// recording callbacks. The callbacks are never released: a queue may report
// a last change after its done resolved, as a page's callbacks would see.
func startQueue(t *testing.T, m js.Value, opts map[string]any) *qrun {
	r := &qrun{t: t, states: map[string]int{}}
	onProgress := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var p queueProgressJS
		if err := vert.ValueOf(args[0]).AssignTo(&p); err != nil {
			panic(err)
		}
		r.mu.Lock()
		r.progress = append(r.progress, p)
		r.mu.Unlock()
		return nil
	})
	onFile := js.FuncOf(func(_ js.Value, args []js.Value) any {
		r.mu.Lock()
		r.states[args[0].Get("state").String()]++
		r.mu.Unlock()
		return nil
	})
	o := js.ValueOf(opts)
	o.Set("onProgress", onProgress)
	o.Set("onFile", onFile)
	r.q = m.Call("queue", o)
	t.Cleanup(func() { _, _ = awaitJS(t, r.q.Call("cancel")) })
	return r
}

// add awaits q.add(items) and returns its count.
func (r *qrun) add(items any) int {
	r.t.Helper()
	v, err := awaitJS(r.t, r.q.Call("add", items))
	require.NoError(r.t, err)
	return v.Int()
}

// queueResult is a QueueFileResult with its error's code.
type queueResult struct {
	queueFileJS
	Result    *fileInfoJS
	ErrorName string
	ErrorCode string
}

// done awaits q.done, which must resolve, and decodes every result.
func (r *qrun) done() []queueResult {
	r.t.Helper()
	v, err := awaitJS(r.t, r.q.Get("done"))
	require.NoError(r.t, err, "done never rejects for a failed file")
	out := make([]queueResult, v.Length())
	for i := range out {
		f := v.Index(i)
		require.NoError(r.t, vert.ValueOf(f).AssignTo(&out[i].queueFileJS))
		if res := f.Get("result"); res.Type() == js.TypeObject {
			out[i].Result = &fileInfoJS{}
			require.NoError(r.t, vert.ValueOf(res).AssignTo(out[i].Result))
		}
		if e := f.Get("error"); e.Type() == js.TypeObject {
			require.True(r.t, e.InstanceOf(jsError), "error is an Error")
			out[i].ErrorName, out[i].ErrorCode = e.Get("name").String(), e.Get("code").String()
		}
	}
	return out
}

func (r *qrun) lastProgress() queueProgressJS {
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(r.t, r.progress)
	return r.progress[len(r.progress)-1]
}

func (r *qrun) onFileCount(state string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states[state]
}

// The same tests run with this module's queue() and with the loaded
// module's, in the page (through smh-upload.js) or in its Worker.
var queueModes = []struct {
	name string
	api  func(*testing.T) js.Value
}{
	{"in the page", func(*testing.T) js.Value { return api }},
	{"in the Worker", loadedModule},
}

// Twelve files, small and multipart, through one queue of three part slots
// and two small files at a time: the first PUT is refused for good, so one
// file fails alone with its typed error while eleven are stored with the
// source's bytes; done resolves with every result; retryFailed then stores
// the failed one too.
func TestQueueTwelveFilesOneFails(t *testing.T) {
	for _, mode := range queueModes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEmu(t, emuConfig{})
			r := startQueue(t, mode.api(t), e.options(map[string]any{"path": "batch", "concurrency": 3, "smallFiles": 2, "partSize": MiB}))
			control(t, "POST", e.path("faults"), []map[string]any{{"kind": "parts", "n": 1, "status": 400, "code": "InvalidArgument"}}, nil)
			sizes := map[string]int64{}
			var items []any
			var total int64
			for i := range 12 {
				size := int64(100<<10 + i*1000)
				if i%4 == 1 {
					size = 2*MiB + int64(i)
				}
				name := fmt.Sprintf("%02d.bin", i)
				sizes["batch/"+name] = size
				total += size
				items = append(items, generated(size, uint32(200+i), name))
			}
			require.Equal(t, 12, r.add(items))
			files := r.done()
			require.Len(t, files, 12)
			failed := -1
			for i, f := range files {
				assert.Equal(t, i, f.Index)
				assert.Equal(t, float64(sizes[f.Path]), f.Size, f.Path)
				if f.State == smh.FileFailed {
					require.Equal(t, -1, failed, "one file fails")
					failed = i
					assert.Equal(t, "SMHError", f.ErrorName)
					assert.Equal(t, "InvalidArgument", f.ErrorCode)
					continue
				}
				require.Equal(t, smh.FileDone, f.State, "%s: %s", f.Path, f.ErrorCode)
				crc, stored := e.storedCRC(f.Path)
				assert.Equal(t, expectedCRC(t, sizes[f.Path], uint32(200+i)), crc, f.Path)
				assert.Equal(t, sizes[f.Path], stored)
				require.NotNil(t, f.Result)
				assert.Equal(t, crc, f.Result.CRC64)
			}
			require.NotEqual(t, -1, failed, "the refused PUT failed its file")
			p := r.lastProgress()
			assert.Equal(t, queueProgressJS{Loaded: p.Loaded, Total: float64(total), Done: 11, Failed: 1, Added: 12,
				BytesPerSecond: p.BytesPerSecond, ETASeconds: p.ETASeconds}, p, "the final progress came before done")
			assert.LessOrEqual(t, e.counts()["part.peak"], 3, "parts in flight across the queue")
			assert.LessOrEqual(t, e.counts()["object.peak"], 2, "small files' PUTs in flight")

			r.q.Call("retryFailed")
			files = r.done()
			f := files[failed]
			require.Equal(t, smh.FileDone, f.State, f.ErrorCode)
			crc, _ := e.storedCRC(f.Path)
			assert.Equal(t, expectedCRC(t, sizes[f.Path], uint32(200+failed)), crc)
			p = r.lastProgress()
			assert.Equal(t, 12, p.Done)
			assert.Equal(t, float64(total), p.Loaded)
			assert.Equal(t, 12, r.onFileCount("done"))
			assert.Equal(t, 1, r.onFileCount("failed"))
			assert.Equal(t, 0, e.openUploads())
		})
	}
}

// A folder given as [{file, path}] with an empty folder, and a FileList: each
// deepest folder is requested once, before any file; the empty one exists;
// a name SMH refuses fails alone; every other file is stored in its place.
func TestQueueFolders(t *testing.T) {
	for _, mode := range queueModes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEmu(t, emuConfig{})
			r := startQueue(t, mode.api(t), e.options(map[string]any{"path": "/up/"}))
			obj := func(size int64, seed uint32, path string) map[string]any {
				return map[string]any{"file": generated(size, seed, "x"), "path": path}
			}
			n := r.add([]any{obj(3000, 1, "a/b/1.bin"), obj(4000, 2, "a/2.bin"),
				map[string]any{"path": "a/empty", "directory": true}, obj(5000, 3, "c/3.bin"), obj(10, 4, "bad\\name.bin")})
			assert.Equal(t, 4, n)
			c := e.counts()
			assert.Equal(t, 3, c["directory.create"], "up/a/b, up/a/empty and up/c: the rest come with them")

			dt := jsGlobal.Get("DataTransfer").New()
			dt.Get("items").Call("add", generated(600, 5, "flat.bin"))
			assert.Equal(t, 1, r.add(dt.Get("files")), "a FileList")
			assert.Equal(t, 1, r.add(generated(700, 6, "single.bin")), "a File")

			files := r.done()
			want := map[string]struct {
				size int64
				seed uint32
			}{"up/a/b/1.bin": {3000, 1}, "up/a/2.bin": {4000, 2}, "up/c/3.bin": {5000, 3}, "up/flat.bin": {600, 5}, "up/single.bin": {700, 6}}
			require.Len(t, files, 6)
			for _, f := range files {
				if f.Path == "up/bad\\name.bin" {
					assert.Equal(t, smh.FileFailed, f.State)
					assert.Equal(t, smh.CodeIllegalPath, f.ErrorCode)
					continue
				}
				w, ok := want[f.Path]
				require.True(t, ok, f.Path)
				require.Equal(t, smh.FileDone, f.State, "%s: %s", f.Path, f.ErrorCode)
				crc, _ := e.storedCRC(f.Path)
				assert.Equal(t, expectedCRC(t, w.size, w.seed), crc, f.Path)
			}
			c = e.counts()
			assert.Equal(t, 3, c["directory.create"], "no file asked for a folder")
			assert.True(t, e.dirExists("up/a/empty"))
		})
	}
}

// pause() stops the files under way, keeping their parts; resume()
// continues each from the parts the server lists, and all are stored.
func TestQueuePauseResume(t *testing.T) {
	for _, mode := range queueModes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEmu(t, emuConfig{})
			e.on(rule{Part: 2, Action: "hold"})
			r := startQueue(t, mode.api(t), e.options(map[string]any{"path": "p", "partSize": MiB, "concurrency": 2, "files": 2}))
			for i := range 3 {
				r.add(generated(3*MiB, uint32(30+i), fmt.Sprintf("%d.bin", i)))
			}
			e.held(2)
			r.q.Call("pause")
			control(t, "POST", e.path("release"), nil, nil)
			p := r.q.Get("progress")
			assert.Equal(t, 3, p.Get("left").Int(), "a pause is not an outcome")
			statusBefore := e.counts()["status"]
			r.q.Call("resume")
			for i, f := range r.done() {
				require.Equal(t, smh.FileDone, f.State, "%s: %s", f.Path, f.ErrorCode)
				crc, _ := e.storedCRC(f.Path)
				assert.Equal(t, expectedCRC(t, 3*MiB, uint32(30+i)), crc)
			}
			assert.Greater(t, e.counts()["status"], statusBefore, "the resumed files listed their stored parts")
		})
	}
}

// A pause that cuts off a confirm after SMH has it: resume() finds the
// file the confirm created instead of uploading it again (with conflict
// rename that would be a second copy) or failing with UploadComplete.
func TestQueuePauseDuringConfirm(t *testing.T) {
	for _, mode := range queueModes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEmu(t, emuConfig{})
			e.on(rule{API: "confirm", Action: "hold"})
			r := startQueue(t, mode.api(t), e.options(map[string]any{"path": "p", "partSize": MiB, "conflict": "rename"}))
			r.add(generated(2*MiB+5, 70, "a.bin"))
			control(t, "GET", e.path("held?api=confirm"), nil, nil)
			r.q.Call("pause")
			control(t, "GET", e.path("held?api=confirm&gone=1"), nil, nil) // the pause aborted the confirm
			control(t, "POST", e.path("release"), nil, nil)                // SMH creates the file; nobody reads the answer
			parts := e.counts()["part"]
			r.q.Call("resume")
			files := r.done()
			require.Len(t, files, 1)
			require.Equal(t, smh.FileDone, files[0].State, files[0].ErrorCode)
			assert.Equal(t, "p/a.bin", files[0].Path)
			crc, _ := e.storedCRC("p/a.bin")
			assert.Equal(t, expectedCRC(t, 2*MiB+5, 70), crc)
			c := e.counts()
			assert.Equal(t, 1, c["confirm"], "not confirmed again")
			assert.Equal(t, parts, c["part"], "no part sent again")
			assert.Equal(t, 1, c["begin.multipart"], "no new task")
			assert.Equal(t, 0, e.openUploads())
		})
	}
}

// cancel() stops every file for good: the one under way is deleted on the
// server, the others never begin; done resolves with every file cancelled
// (an AbortError each); an add() after it rejects with an AbortError.
func TestQueueCancel(t *testing.T) {
	for _, mode := range queueModes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEmu(t, emuConfig{})
			e.on(rule{Part: 1, Action: "hold"})
			r := startQueue(t, mode.api(t), e.options(map[string]any{"path": "c", "partSize": MiB, "files": 1}))
			for i := range 4 {
				r.add(generated(2*MiB, uint32(50+i), fmt.Sprintf("%d.bin", i)))
			}
			e.held(1)
			canceled := r.q.Call("cancel")
			control(t, "POST", e.path("release"), nil, nil)
			_, err := awaitJS(t, canceled)
			require.NoError(t, err)
			for _, f := range r.done() {
				assert.Equal(t, smh.FileCanceled, f.State, f.Path)
				assert.Equal(t, "AbortError", f.ErrorName, f.Path)
			}
			c := e.counts()
			assert.Equal(t, 1, c["begin.multipart"], "the files not started sent nothing")
			assert.Equal(t, 0, e.openUploads(), "the started file's task was deleted")
			_, err = awaitJS(t, r.q.Call("add", generated(10, 1, "late.bin")))
			assert.Equal(t, "AbortError", decodeRejection(t, err).Name)
			assert.Equal(t, 4, r.q.Get("progress").Get("canceled").Int())
		})
	}
}

// dirExists asks the emulator's SMH API whether dir is a folder.
func (e *emu) dirExists(dir string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := fetchDoer{}.Do(ctx, &smh.Request{Method: "GET", Header: smh.Header{},
		URL: e.Endpoint + "/api/v1/directory/" + e.LibraryID + "/-/" + dir + "?access_token=" + e.Token})
	require.NoError(e.t, err)
	return resp.StatusCode == 200
}

// fakeTree is a FileSystemDirectoryEntry "photos" as webkitGetAsEntry
// gives one, with a reader that hands out its children in two batches
// before the empty one, an empty folder, a nested file, and a file whose
// file() fails (deleted since the drop). reads counts readEntries calls.
var fakeTree = jsGlobal.Get("Function").New("a", "b", `
	const reads = { n: 0 };
	const file = (name, f) => ({ isFile: true, isDirectory: false, name,
		file: (ok, fail) => setTimeout(() => (f ? ok(f) : fail(new DOMException("gone", "NotFoundError")))) });
	const dir = (name, batches) => ({ isFile: false, isDirectory: true, name, createReader() {
		let i = 0;
		return { readEntries: (ok) => { reads.n++; setTimeout(() => ok(batches[i++] ?? [])); } };
	} });
	const root = dir("photos", [
		[file("a.txt", a), dir("empty", [])],
		[dir("deep", [[file("b.bin", b)]]), file("gone.txt", null)],
	]);
	return { root, reads };
`)

// A dropped folder, walked by smh-upload-folders.js (against a fake entry
// tree with the methods of the real one) and added to the Worker's queue:
// readEntries is called until it gives nothing, every folder is kept (the
// empty one is created), the file that cannot be read fails alone, and
// the others are stored. A DataTransfer of flat files goes in as it is.
func TestQueueWalksADroppedFolder(t *testing.T) {
	m := loadedModule(t)
	folders, err := awaitJS(t, dynamicImport.Invoke(controlURL(t)+"/src/smh-upload-folders.js"))
	require.NoError(t, err)
	tree := fakeTree.Invoke(generated(3000, 11, "a.txt"), generated(2*MiB+1, 12, "b.bin"))
	list := jsGlobal.Get("Array").New()
	_, err = awaitJS(t, folders.Call("walkEntry", tree.Get("root"), "", list))
	require.NoError(t, err)
	var paths []string
	for i := range list.Length() {
		paths = append(paths, list.Index(i).Get("path").String())
	}
	assert.Equal(t, []string{"photos", "photos/a.txt", "photos/empty", "photos/deep", "photos/deep/b.bin", "photos/gone.txt"}, paths)
	assert.Equal(t, 3+1+2, tree.Get("reads").Get("n").Int(), "each reader read until it gave nothing")

	e := newEmu(t, emuConfig{})
	r := startQueue(t, m, e.options(map[string]any{"path": "drop", "partSize": MiB}))
	assert.Equal(t, 3, r.add(list))
	dt := jsGlobal.Get("DataTransfer").New()
	dt.Get("items").Call("add", generated(500, 13, "flat.bin"))
	assert.Equal(t, 1, r.add(dt), "a DataTransfer")
	files := r.done()
	require.Len(t, files, 4)
	want := map[string][2]int64{"drop/photos/a.txt": {3000, 11}, "drop/photos/deep/b.bin": {2*MiB + 1, 12}, "drop/flat.bin": {500, 13}}
	for _, f := range files {
		if f.Path == "drop/photos/gone.txt" {
			assert.Equal(t, smh.FileFailed, f.State)
			assert.Equal(t, smh.CodeSourceRead, f.ErrorCode)
			continue
		}
		w, ok := want[f.Path]
		require.True(t, ok, f.Path)
		require.Equal(t, smh.FileDone, f.State, "%s: %s", f.Path, f.ErrorCode)
		crc, _ := e.storedCRC(f.Path)
		assert.Equal(t, expectedCRC(t, w[0], uint32(w[1])), crc, f.Path)
	}
	assert.Equal(t, 2, e.counts()["directory.create"], "drop/photos/empty and drop/photos/deep")
	assert.True(t, e.dirExists("drop/photos/empty"))
}

// queue() throws a TypeError for options of the wrong JS type, in the
// page and with the Worker.
func TestQueueChecksItsOptions(t *testing.T) {
	try := jsGlobal.Get("Function").New("m", "o", "try { m.queue(o); return 'ok' } catch (e) { return e.name }")
	for _, mode := range queueModes[1:] { // this module's own queue() is wrapped by smh-upload-run.js
		m := mode.api(t)
		for _, bad := range []any{nil, "x", map[string]any{"onFile": 3}, map[string]any{"signal": "s"}} {
			assert.Equal(t, "TypeError", try.Invoke(m, bad).String(), "%v", bad)
		}
	}
}

// A reload, as far as a test page can have one: a second queue in the
// module offered the same files skips those the first stored, with no
// request, and the records are in IndexedDB, where a new page would load
// them from.
func TestQueueResumeRecords(t *testing.T) {
	e := newEmu(t, emuConfig{})
	mod := loadedModule(t) // resume records come with smh-upload-run.js's start
	items := func() []any {
		var out []any
		for i, size := range []int64{5 << 10, 70 << 10, 0, 2*MiB + 3} {
			out = append(out, generated(size, uint32(400+i), fmt.Sprintf("r%d.bin", i)))
		}
		return out
	}
	a := startQueue(t, mod, e.options(map[string]any{"path": "again", "partSize": MiB}))
	require.Equal(t, 4, a.add(items()))
	for _, f := range a.done() {
		require.Equal(t, smh.FileDone, f.State, "%s: %s", f.Path, f.ErrorCode)
	}
	before := e.counts()

	b := startQueue(t, mod, e.options(map[string]any{"path": "again", "partSize": MiB}))
	require.Equal(t, 4, b.add(items()))
	for _, f := range b.done() {
		assert.Equal(t, "skipped", f.State, f.Path)
		require.NotNil(t, f.Result, "a skipped file keeps what the first queue stored")
		crc, _ := e.storedCRC(f.Path)
		assert.Equal(t, crc, f.Result.CRC64, f.Path)
	}
	assert.Equal(t, before["part"], e.counts()["part"], "no part sent again")
	assert.Equal(t, before["object.post"], e.counts()["object.post"], "no small file sent again")
	p := b.lastProgress()
	assert.Equal(t, 4, p.Done)
	assert.Equal(t, 4, p.Skipped)

	c := startQueue(t, mod, e.options(map[string]any{"path": "again", "resume": false}))
	require.Equal(t, 1, c.add(items()[:1]))
	assert.Equal(t, smh.FileDone, c.done()[0].State, "resume: false uploads again")

	// A new page loads the records from IndexedDB: they were written there.
	run, err := awaitJS(t, dynamicImport.Invoke(controlURL(t)+"/src/smh-upload-run.js"))
	require.NoError(t, err)
	store, err := awaitJS(t, run.Call("openRecords"))
	require.NoError(t, err)
	require.Equal(t, js.TypeObject, store.Type(), "IndexedDB opened")
	n := 0
	keys := store.Call("keys")
	for i := range keys.Length() {
		if v := store.Call("getItem", keys.Index(i)); v.Type() == js.TypeString && strings.Contains(v.String(), `"done":true`) {
			n++
		}
	}
	assert.GreaterOrEqual(t, n, 4, "done records in IndexedDB")
}

// The access token and every signature expire while a queue has parts of
// several files in flight: getAccessToken is asked once more for them all,
// each multipart file renews its signatures at most once, and every file is
// stored with the source's bytes.
func TestQueueTokenAndSignaturesExpireMidQueue(t *testing.T) {
	for _, mode := range queueModes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEmu(t, emuConfig{})
			e.on(rule{Part: 3, Action: "expire-tokens"})
			var mu sync.Mutex
			calls := 0
			getToken := js.FuncOf(func(js.Value, []js.Value) any {
				mu.Lock()
				calls++
				mu.Unlock()
				return newPromise(func() (any, error) { return e.newToken(), nil })
			})
			o := e.options(map[string]any{"path": "exp", "partSize": MiB, "concurrency": 4, "getAccessToken": getToken})
			delete(o, "accessToken")
			r := startQueue(t, mode.api(t), o)
			sizes := map[string]int64{}
			var items []any
			for i := range 7 {
				size := int64(40<<10 + i)
				if i < 3 {
					size = 3*MiB + int64(i)
				}
				name := fmt.Sprintf("e%d.bin", i)
				sizes["exp/"+name] = size
				items = append(items, generated(size, uint32(500+i), name))
			}
			require.Equal(t, 7, r.add(items))
			for i, f := range r.done() {
				require.Equal(t, smh.FileDone, f.State, "%s: %s", f.Path, f.ErrorCode)
				crc, stored := e.storedCRC(f.Path)
				assert.Equal(t, expectedCRC(t, sizes[f.Path], uint32(500+i)), crc, f.Path)
				assert.Equal(t, sizes[f.Path], stored)
			}
			c := e.counts()
			mu.Lock()
			assert.Equal(t, 2, calls, "one token to start, one for every file that met the refusal")
			mu.Unlock()
			assert.Equal(t, 2, c["token.create"])
			// A renew sent with the dead token is refused and sent again with
			// the new one: at most two renew requests per multipart file, where
			// a renew per part in flight would be up to twelve.
			assert.LessOrEqual(t, c["renew"], 2*3, "renews: no storm")
			assert.GreaterOrEqual(t, c["renew"], 1, "the expired signatures were renewed")
			assert.Equal(t, 0, e.openUploads())
		})
	}
}

// load() opens no storage: the queue's resume records open with the first
// queue(), whose first files wait for them, so that a second queue finds
// what the first stored, and later queues open nothing more.
func TestQueueOpensRecordsOnFirstUse(t *testing.T) {
	e := newEmu(t, emuConfig{})
	spy := jsGlobal.Get("Function").New(`const p = IDBFactory.prototype, open = p.open;
		const s = { n: 0, restore() { p.open = open; } };
		p.open = function (...a) { s.n++; return open.apply(this, a); };
		return s;`).Invoke()
	t.Cleanup(func() { spy.Call("restore") })
	run, err := awaitJS(t, dynamicImport.Invoke(controlURL(t)+"/src/smh-upload-run.js"))
	require.NoError(t, err)
	dist := controlURL(t) + "/dist/"
	m, err := awaitJS(t, run.Call("start", map[string]any{"wasm": dist + "smh.wasm", "exec": dist + "wasm_exec.js"}))
	require.NoError(t, err, "a second module, run in this page")
	assert.Equal(t, 0, spy.Get("n").Int(), "started without opening IndexedDB")

	items := func() []any { return []any{generated(3<<10, 700, "first.bin"), generated(MiB+5, 701, "second.bin")} }
	a := startQueue(t, m, e.options(map[string]any{"path": "lazy", "partSize": MiB}))
	require.Equal(t, 2, a.add(items()))
	for _, f := range a.done() {
		require.Equal(t, smh.FileDone, f.State, "%s: %s", f.Path, f.ErrorCode)
	}
	assert.Equal(t, 1, spy.Get("n").Int(), "the first queue opened IndexedDB")
	before := e.counts()

	b := startQueue(t, m, e.options(map[string]any{"path": "lazy", "partSize": MiB}))
	require.Equal(t, 2, b.add(items()))
	for _, f := range b.done() {
		assert.Equal(t, "skipped", f.State, f.Path)
	}
	assert.Equal(t, before["part"], e.counts()["part"], "no part sent again")
	assert.Equal(t, 1, spy.Get("n").Int(), "one database for every queue")
}

// A queue's add hands its files on only once ready resolves (the resume
// records are in), listing them meanwhile.
func TestFrontQueueWaitsForReady(t *testing.T) {
	folders, err := awaitJS(t, dynamicImport.Invoke(controlURL(t)+"/src/smh-upload-folders.js"))
	require.NoError(t, err)
	h := jsGlobal.Get("Function").New("frontQueue", `let open;
		const gate = new Promise((r) => (open = r));
		const h = { lists: [], open };
		const inner = { add: (list) => (h.lists.push(list), list.length), done: Promise.resolve([]) };
		h.q = frontQueue(inner, gate);
		h.added = h.q.add([{ file: new Blob(["abc"]), path: "a.txt" }, { file: new Blob([]), path: "b.txt" }]);
		// a turn of the event loop: the listing (promises only) is done by then
		h.turn = new Promise((r) => setTimeout(r, 0));
		return h;`).Invoke(folders.Get("frontQueue"))
	_, err = awaitJS(t, h.Get("turn"))
	require.NoError(t, err)
	assert.Equal(t, 0, h.Get("lists").Length(), "no file handed on before ready")
	h.Call("open")
	n, err := awaitJS(t, h.Get("added"))
	require.NoError(t, err)
	assert.Equal(t, 2, n.Int())
	require.Equal(t, 1, h.Get("lists").Length())
	assert.Equal(t, "b.txt", h.Get("lists").Index(0).Index(1).Get("path").String())
}
