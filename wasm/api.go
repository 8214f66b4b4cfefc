//go:build js && wasm

package main

import (
	"context"
	"sync"
	"syscall/js"

	"github.com/smhupload/smh-upload/smh"
)

// taskID is the non-enumerable property that ties a JS task object to its
// upload in the module's registry.
const taskID = "__smhUploadTask"

// slotsID is the non-enumerable property that ties a JS slots object (from
// slots(n)) to its pool in the module's registry.
const slotsID = "__smhUploadSlots"

// module is one instance of the JS API: upload() and the methods of the task
// objects it returns. Its js.Funcs live as long as the module; everything
// made per call is released when the call ends.
type module struct {
	proto  js.Value // prototype of task objects: pause, resume, cancel, confirmKey
	qproto js.Value // prototype of queue objects (queue.go)
	reg    js.Value // FinalizationRegistry that forgets the upload of a collected task object

	mu      sync.Mutex
	next    int
	uploads map[int]*upload
	pools   map[int]*smh.Slots // by slotsID; a page makes a few and keeps them
	queues  map[int]*jsQueue   // by queueID
}

// upload is one call of upload().
type upload struct {
	job *smh.Job
	rt  *smh.ResumableTask
}

// newAPI returns the object load() resolves to: { upload, slots, queue, version }.
func newAPI() js.Value {
	m := &module{uploads: map[int]*upload{}, pools: map[int]*smh.Slots{}, queues: map[int]*jsQueue{}}
	m.proto = jsObject.New()
	m.proto.Set("pause", js.FuncOf(m.method(func(u *upload) any { u.job.Pause(); return nil }, nothing)))
	m.proto.Set("resume", js.FuncOf(m.method(func(u *upload) any { u.job.Resume(); return nil }, nothing)))
	m.proto.Set("cancel", js.FuncOf(m.method(func(u *upload) any {
		return newPromise(func() (any, error) { return nil, u.job.Cancel(context.Background()) })
	}, func() any { return jsPromise.Call("resolve") })))
	getKey := jsObject.New()
	getKey.Set("get", js.FuncOf(m.method(func(u *upload) any { return u.rt.ConfirmKey() }, func() any { return "" })))
	jsObject.Call("defineProperty", m.proto, "confirmKey", getKey)
	m.reg = jsGlobal.Get("FinalizationRegistry").New(js.FuncOf(func(_ js.Value, args []js.Value) any {
		id := arg(args, 0).Int()
		m.mu.Lock()
		delete(m.uploads, id)
		q := m.queues[-id] // a queue registers its id negated
		delete(m.queues, -id)
		m.mu.Unlock()
		if q != nil {
			q.forget()
		}
		return nil
	}))
	m.qproto = m.newQueueProto()

	api := jsObject.New()
	api.Set("version", version)
	api.Set("upload", js.FuncOf(m.upload))
	api.Set("slots", js.FuncOf(m.slots))
	api.Set("queue", js.FuncOf(m.queue))
	return api
}

// slots is slots(n): a pool of n part slots for upload()'s slots option, so
// that the uploads given it send n parts at a time between them.
func (m *module) slots(_ js.Value, args []js.Value) any {
	// smh-upload-run.js has checked n (a Go callback cannot throw); NewSlots
	// takes anything below 1 as the default.
	n := 0
	if v := arg(args, 0); v.Type() == js.TypeNumber {
		n = v.Int()
	}
	p := smh.NewSlots(n)
	m.mu.Lock()
	m.next++
	id := m.next
	m.pools[id] = p
	m.mu.Unlock()
	o := jsObject.New()
	o.Set("size", p.Size())
	d := jsObject.New()
	d.Set("value", id)
	jsObject.Call("defineProperty", o, slotsID, d)
	return jsObject.Call("freeze", o)
}

// pool finds the pool of a slots option: undefined for none, else an object
// that this module's slots() made.
func (m *module) pool(v js.Value) (*smh.Slots, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	if v.Type() == js.TypeObject {
		if id := v.Get(slotsID); id.Type() == js.TypeNumber {
			m.mu.Lock()
			p := m.pools[id.Int()]
			m.mu.Unlock()
			if p != nil {
				return p, nil
			}
		}
	}
	return nil, typeErrorf("upload options: slots must come from this module's slots()")
}

// method adapts fn to a task method: it finds the upload of this. A task
// object whose upload could not start has none; its methods do nothing
// (cancel still returns a Promise).
func (m *module) method(fn func(*upload) any, none func() any) func(js.Value, []js.Value) any {
	return func(this js.Value, _ []js.Value) any {
		var u *upload
		if this.Type() == js.TypeObject {
			if id := this.Get(taskID); id.Type() == js.TypeNumber {
				m.mu.Lock()
				u = m.uploads[id.Int()]
				m.mu.Unlock()
			}
		}
		if u == nil {
			return none()
		}
		v, err := protect(func() (any, error) { return fn(u), nil })
		if err != nil {
			jsConsole.Call("error", "smh-upload:", err.Error())
		}
		return v
	}
}

func nothing() any { return nil }

// upload is upload(file, options). It returns a task at once; its done
// Promise settles with the outcome. Arguments that cannot work reject done
// before any request is made: TypeError for a wrong JS type, SMHError (code
// EmptyPath, InvalidPartSize, InvalidInput, …) for a bad value.
func (m *module) upload(_ js.Value, args []js.Value) any {
	v, err := protect(func() (js.Value, error) { return m.start(arg(args, 0), arg(args, 1)) })
	if err != nil {
		return m.taskObject(-1, jsPromise.Call("reject", toJSError(err)))
	}
	return v
}

func (m *module) start(file, opts js.Value) (js.Value, error) {
	a, err := convertUploadArgs(file, opts)
	if err != nil {
		return js.Value{}, err
	}
	if a.task.Slots, err = m.pool(opts.Get("slots")); err != nil {
		return js.Value{}, err
	}
	a.callbacks()
	c, err := smh.NewClient(a.client, fetchDoer{})
	if err != nil {
		return js.Value{}, err
	}
	var store smh.ResumeStore
	var key string
	if a.resume {
		store, key = newLocalStore(), smh.ResumeKey(a.id)
	}
	rt, err := smh.NewResumableTask(c, xhrPutter{}, newBlobBody(a.file), a.task, store, key)
	if err != nil {
		return js.Value{}, err
	}
	u := &upload{job: smh.NewJob(guarded{rt}), rt: rt}

	// An AbortSignal cancels the upload; its listener goes when the upload ends.
	aborted := false
	var onAbort js.Func
	if !a.signal.IsUndefined() {
		onAbort = js.FuncOf(func(js.Value, []js.Value) any {
			go u.job.Cancel(context.Background())
			return nil
		})
		a.signal.Call("addEventListener", "abort", onAbort)
		aborted = a.signal.Get("aborted").Bool()
	}
	done := newPromise(func() (any, error) {
		fi, err := u.job.Result()
		if !a.signal.IsUndefined() {
			a.signal.Call("removeEventListener", "abort", onAbort)
			onAbort.Release()
		}
		if err != nil {
			return nil, err
		}
		return fileInfoValue(fi), nil
	})

	m.mu.Lock()
	m.next++
	id := m.next
	m.uploads[id] = u
	m.mu.Unlock()
	task := m.taskObject(id, done)
	m.reg.Call("register", task, id)
	go func() {
		if aborted {
			_ = u.job.Cancel(context.Background()) // no request: nothing has begun
		}
		u.job.Start()
	}()
	return task, nil
}

// guarded turns a panic in a run into an error, so that it rejects done.
type guarded struct{ *smh.ResumableTask }

func (g guarded) Run(ctx context.Context) (*smh.FileInfo, error) {
	return protect(func() (*smh.FileInfo, error) { return g.ResumableTask.Run(ctx) })
}

// taskObject makes { done, pause(), resume(), cancel(), confirmKey }.
func (m *module) taskObject(id int, done js.Value) js.Value {
	t := jsObject.Call("create", m.proto)
	d := jsObject.New()
	d.Set("value", id)
	jsObject.Call("defineProperty", t, taskID, d)
	t.Set("done", done)
	return t
}
