//go:build js && wasm

package main

import (
	"context"
	"sync"
	"syscall/js"

	"github.com/smhupload/smh-upload/smh"
)

// queueID is the non-enumerable property that ties a JS queue object to its
// queue in the module's registry.
const queueID = "__smhUploadQueue"

// jsQueue is one call of queue(). err is set when the options could not
// work: add and done then reject with it.
type jsQueue struct {
	feed     *smh.QueueFeed
	target   string
	file     smh.Options
	throttle *smh.ProgressThrottle // nil without onProgress
	err      error
	signal   js.Value // an AbortSignal or undefined
	onAbort  js.Func  // the signal's listener, removed with the queue object

	mu      sync.Mutex
	gen     int      // adds and retries so far: a done read after one is a new Promise
	done    js.Value // the Promise of the last read, for gen doneGen
	doneGen int
}

// newQueueProto makes the prototype of queue objects.
func (m *module) newQueueProto() js.Value {
	p := jsObject.New()
	method := func(fn func(*jsQueue, []js.Value) any, none func() any) js.Func {
		return js.FuncOf(func(this js.Value, args []js.Value) any {
			q := m.queueOf(this)
			if q == nil {
				return none()
			}
			v, err := protect(func() (any, error) { return fn(q, args), nil })
			if err != nil {
				jsConsole.Call("error", "smh-upload:", err.Error())
			}
			return v
		})
	}
	rejected := func() any { return jsPromise.Call("reject", jsTypeError.New("smh-upload: not a queue")) }
	p.Set("add", method((*jsQueue).add, rejected))
	p.Set("pause", method(func(q *jsQueue, _ []js.Value) any { q.run(q.feed.Queue().Pause); return nil }, nothing))
	p.Set("resume", method(func(q *jsQueue, _ []js.Value) any { q.run(q.feed.Queue().Resume); return nil }, nothing))
	p.Set("retryFailed", method(func(q *jsQueue, _ []js.Value) any {
		q.mu.Lock()
		q.gen++
		q.mu.Unlock()
		q.run(q.feed.Queue().RetryFailed)
		return nil
	}, nothing))
	p.Set("cancel", method(func(q *jsQueue, _ []js.Value) any {
		if q.err != nil {
			return jsPromise.Call("resolve")
		}
		return newPromise(func() (any, error) { return nil, q.feed.Cancel(context.Background()) })
	}, func() any { return jsPromise.Call("resolve") }))
	getter := func(name string, fn func(*jsQueue, []js.Value) any) {
		d := jsObject.New()
		d.Set("get", method(fn, func() any { return js.Undefined() }))
		jsObject.Call("defineProperty", p, name, d)
	}
	getter("progress", func(q *jsQueue, _ []js.Value) any {
		if q.err != nil {
			return queueProgressValue(smh.QueueProgress{})
		}
		return queueProgressValue(q.feed.Queue().Progress())
	})
	getter("done", (*jsQueue).doneValue)
	return p
}

func (m *module) queueOf(this js.Value) *jsQueue {
	if this.Type() != js.TypeObject {
		return nil
	}
	id := this.Get(queueID)
	if id.Type() != js.TypeNumber {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.queues[id.Int()]
}

// queue is queue(options): a queue of files sharing one pool of part slots,
// started at once. smh-upload-run.js has checked the options' JS types (a
// Go callback cannot throw); options that cannot work make a queue whose
// add and done reject with the error.
func (m *module) queue(_ js.Value, args []js.Value) any {
	q, err := protect(func() (*jsQueue, error) { return newQueue(arg(args, 0)) })
	if err != nil {
		q = &jsQueue{err: err}
	}
	m.mu.Lock()
	m.next++
	id := m.next
	m.queues[id] = q
	m.mu.Unlock()
	o := jsObject.Call("create", m.qproto)
	d := jsObject.New()
	d.Set("value", id)
	jsObject.Call("defineProperty", o, queueID, d)
	m.reg.Call("register", o, -id) // negative: a queue's id
	return o
}

func newQueue(opts js.Value) (*jsQueue, error) {
	a, err := convertQueueArgs(opts)
	if err != nil {
		return nil, err
	}
	a.callbacks()
	c, err := smh.NewClient(a.client, fetchDoer{})
	if err != nil {
		return nil, err
	}
	q := &jsQueue{target: a.target, file: a.task}
	q.file.OnProgress, q.file.OnEvent = nil, nil // per file: the queue's callbacks report
	if fn := a.onProgress; fn.Type() == js.TypeFunction {
		q.throttle = smh.NewProgressThrottle(a.queue.Clock, 0, func(p smh.QueueProgress) { callUser(fn, queueProgressValue(p)) })
		a.queue.OnProgress = q.throttle.Update
	}
	if fn := a.onFile; fn.Type() == js.TypeFunction {
		a.queue.OnFile = func(f smh.QueueFile) { callUser(fn, queueFileValue(f)) }
	}
	sq, err := smh.NewQueue(c, xhrPutter{}, a.queue)
	if err != nil {
		return nil, err
	}
	// Resume records of the queue (a.resume) come with the queue's resume
	// store in package smh; until then every page starts afresh.
	q.feed = smh.NewQueueFeed(sq)
	sq.Start()
	if q.signal = a.signal; !q.signal.IsUndefined() {
		q.onAbort = js.FuncOf(func(js.Value, []js.Value) any {
			go q.feed.Cancel(context.Background())
			return nil
		})
		a.signal.Call("addEventListener", "abort", q.onAbort, map[string]any{"once": true})
		if a.signal.Get("aborted").Bool() {
			go q.feed.Cancel(context.Background())
		}
	}
	return q, nil
}

// forget removes the signal's listener once the queue object is collected:
// nothing else can cancel it then.
func (q *jsQueue) forget() {
	if q.signal.Type() == js.TypeObject {
		q.signal.Call("removeEventListener", "abort", q.onAbort)
		q.onAbort.Release()
	}
}

// run calls fn, a Queue method that neither blocks nor holds a lock while
// it calls back, so that pause() and resume() take effect in order.
func (q *jsQueue) run(fn func()) {
	if q.err == nil {
		fn()
	}
}

// add is add(items): it resolves with the number of files added once their
// folders exist and they are queued.
func (q *jsQueue) add(args []js.Value) any {
	if q.err != nil {
		return jsPromise.Call("reject", toJSError(q.err))
	}
	entries, err := convertItems(arg(args, 0))
	if err != nil {
		return jsPromise.Call("reject", toJSError(err))
	}
	q.mu.Lock()
	q.gen++
	q.mu.Unlock()
	wait := q.feed.AddTree(context.Background(), q.target, entries, q.file) // under way from now: done waits for it
	return newPromise(func() (any, error) {
		n, err := wait()
		return n, err
	})
}

// doneValue is the done property: a Promise of every file's result once
// nothing is pending, uploading or being added; the same Promise until
// more files are added or retried.
func (q *jsQueue) doneValue(_ []js.Value) any {
	if q.err != nil {
		return jsPromise.Call("reject", toJSError(q.err))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.done.IsUndefined() || q.doneGen != q.gen {
		q.doneGen = q.gen
		q.done = newPromise(func() (any, error) {
			files, err := q.feed.Wait(context.Background())
			if err != nil {
				return nil, err
			}
			if q.throttle != nil {
				// The final totals before done: the queue may not have
				// reported the last change yet (it does after waking Wait).
				q.throttle.Update(q.feed.Queue().Progress())
				q.throttle.Flush()
			}
			return queueFilesValue(files), nil
		})
	}
	return q.done
}
