//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"sync"
	"syscall/js"
)

var (
	jsGlobal      = js.Global()
	jsObject      = jsGlobal.Get("Object")
	jsPromise     = jsGlobal.Get("Promise")
	jsError       = jsGlobal.Get("Error")
	jsTypeError   = jsGlobal.Get("TypeError")
	jsUint8Array  = jsGlobal.Get("Uint8Array")
	jsArrayBuffer = jsGlobal.Get("ArrayBuffer")
	jsBlob        = jsGlobal.Get("Blob")
	jsConsole     = jsGlobal.Get("console")
)

// newPromise returns a Promise whose executor starts fn in a goroutine, so
// nothing blocks inside the js.FuncOf callback. fn's value resolves it; its
// error, or a panic, rejects it with an Error object.
func newPromise(fn func() (any, error)) js.Value {
	exec := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := protect(fn)
			if err != nil {
				reject.Invoke(toJSError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	p := jsPromise.New(exec) // calls exec synchronously
	exec.Release()
	return p
}

// protect calls fn and turns a panic (a JS exception thrown into Go, a bug)
// into an error.
func protect[T any](fn func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	return fn()
}

func panicError(r any) error {
	if e, ok := r.(js.Error); ok {
		return jsException{e.Value}
	}
	return fmt.Errorf("smh-upload: internal error: %v", r)
}

// jsException is a JS value thrown or used to reject a promise.
type jsException struct{ v js.Value }

func (e jsException) Error() string {
	v := e.v
	if v.Type() == js.TypeObject && v.Get("message").Type() == js.TypeString {
		name := v.Get("name")
		if name.Type() == js.TypeString && name.String() != "" {
			return name.String() + ": " + v.Get("message").String()
		}
		return v.Get("message").String()
	}
	return jsGlobal.Call("String", v).String()
}

// await waits for a promise (or any value) to settle, or for ctx to end;
// then it calls abort, if given, and returns ctx's error. The callbacks
// release themselves when the promise settles, which it does after abort.
func await(ctx context.Context, p js.Value, abort func()) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var onOK, onErr js.Func
	onOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		onOK.Release()
		onErr.Release()
		ch <- result{v: arg(args, 0)}
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		onOK.Release()
		onErr.Release()
		ch <- result{err: jsException{arg(args, 0)}}
		return nil
	})
	jsPromise.Call("resolve", p).Call("then", onOK, onErr)
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		if abort != nil {
			abort()
		}
		return js.Undefined(), context.Cause(ctx)
	}
}

// yieldToEventLoop lets the browser run its queued tasks (network events,
// rendering, timers, input) before the caller goes on. The Go scheduler
// alone never returns to the event loop while a goroutine can run, and a
// zero-delay timer is clamped to 4 ms once timers nest. Where the browser
// has a task scheduler the caller goes on in a background-priority task, so
// everything else the page does comes first: with MessageChannel messages
// (the fallback) a page running the module in the page itself saw its 10 ms
// timer up to 300 ms late, the main thread 92 % busy, over a 256 MiB upload.
func yieldToEventLoop() {
	ch := make(chan struct{}, 1)
	yielder.mu.Lock()
	if !yielder.ready {
		yielder.ready = true
		// One js.Func for the module's life: each call wakes the oldest
		// waiter, as tasks of one priority run in the order they were posted.
		wake := js.FuncOf(func(js.Value, []js.Value) any {
			yielder.mu.Lock()
			w := yielder.waiting[0]
			yielder.waiting = yielder.waiting[1:]
			yielder.mu.Unlock()
			w <- struct{}{}
			return nil
		})
		if s := jsGlobal.Get("scheduler"); s.Type() == js.TypeObject && s.Get("postTask").Type() == js.TypeFunction {
			opts := jsObject.New()
			opts.Set("priority", "background")
			yielder.post = func() { s.Call("postTask", wake, opts) }
		} else {
			mc := jsGlobal.Get("MessageChannel").New()
			mc.Get("port1").Set("onmessage", wake)
			port := mc.Get("port2")
			yielder.post = func() { port.Call("postMessage", nil) }
		}
	}
	yielder.waiting = append(yielder.waiting, ch)
	post := yielder.post
	yielder.mu.Unlock()
	post()
	<-ch
}

var yielder struct {
	mu      sync.Mutex
	ready   bool
	post    func()
	waiting []chan struct{}
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

// callUser calls a user callback, reporting its exceptions on the console:
// a bug in an onProgress handler must not break the upload.
func callUser(fn js.Value, args ...any) {
	if fn.Type() != js.TypeFunction {
		return
	}
	if _, err := protect(func() (js.Value, error) { return fn.Invoke(args...), nil }); err != nil {
		jsConsole.Call("error", "smh-upload: callback threw:", err.Error())
	}
}
