//go:build js && wasm

package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"syscall/js"

	"github.com/smhupload/smh-upload/smh"
)

var (
	jsFetch           = jsGlobal.Get("fetch")
	jsAbortController = jsGlobal.Get("AbortController")
	jsXHR             = jsGlobal.Get("XMLHttpRequest")
	jsFormData        = jsGlobal.Get("FormData")
)

// fetchDoer sends SMH API calls with fetch. The answers' Date header is
// readable because SMH (and the emulator) expose it, which the engine needs
// for its clock-skew offset.
type fetchDoer struct{}

// Do sends req and reads the whole (small) answer.
func (fetchDoer) Do(ctx context.Context, req *smh.Request) (*smh.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	return protect(func() (*smh.Response, error) {
		ac := jsAbortController.New()
		abort := func() { ac.Call("abort") }
		init := jsObject.New()
		init.Set("method", req.Method)
		h := jsObject.New()
		for k, v := range req.Header {
			h.Set(k, v)
		}
		init.Set("headers", h)
		if req.Body != nil {
			b := jsUint8Array.New(len(req.Body))
			js.CopyBytesToJS(b, req.Body)
			init.Set("body", b)
		}
		init.Set("signal", ac.Get("signal"))
		init.Set("mode", "cors")
		init.Set("credentials", "omit")
		init.Set("cache", "no-store")
		resp, err := await(ctx, jsFetch.Invoke(req.URL, init), abort)
		if err != nil {
			return nil, err
		}
		out := &smh.Response{StatusCode: resp.Get("status").Int(), Header: smh.Header{}}
		it := resp.Get("headers").Call("entries")
		for {
			n := it.Call("next")
			if n.Get("done").Bool() {
				break
			}
			kv := n.Get("value")
			out.Header.Set(kv.Index(0).String(), kv.Index(1).String())
		}
		ab, err := await(ctx, resp.Call("arrayBuffer"), abort)
		if err != nil {
			return nil, err
		}
		u8 := jsUint8Array.New(ab)
		out.Body = make([]byte, u8.Length())
		js.CopyBytesToGo(out.Body, u8)
		return out, nil
	})
}

// maxPutAnswer bounds what is kept of a part answer: success has no body,
// errors are small XML.
const maxPutAnswer = 64 << 10

// xhrPutter sends parts with XMLHttpRequest: the body is Blob.slice(off,
// end), so part bytes never pass through Go memory, upload.onprogress gives
// byte-level progress, and abort() stops a part at once. While the browser
// sends, the part's CRC-64 is computed from a separate read of the same
// slice, so the engine checks it against x-cos-hash-crc64ecma without
// reading the part again.
type xhrPutter struct{}

// PutsForms says that small files go as form uploads (smh.FormPutter): a
// POST of FormData is a CORS simple request, and so is the begin that
// hands out its fields, where a simple upload's begin and PUT each wait
// for a preflight that is never cached (every file's URLs differ).
func (xhrPutter) PutsForms() bool { return true }

var errNotHashed = errors.New("smh-upload: not hashed")

// Put sends one attempt of one part.
func (xhrPutter) Put(ctx context.Context, r *smh.PutRequest) (*smh.PutResponse, error) {
	b, ok := r.Body.(*blobBody)
	if !ok {
		return nil, errors.New("smh-upload: the part body is not a Blob")
	}
	// Each part starts in a task of its own: slicing a File and sending it
	// are round trips to the browser process, and the parts of an upload
	// start together.
	yieldToEventLoop()
	if err := ctx.Err(); err != nil { // send nothing for a run that has ended
		return nil, context.Cause(ctx)
	}
	hctx, stopHash := context.WithCancel(ctx)
	defer stopHash()
	type hashed struct {
		crc uint64
		err error
	}
	part, err := protect(func() (js.Value, error) { return b.slice(r.Offset, r.Length), nil })
	if err != nil {
		return nil, err
	}
	hc := make(chan hashed, 1)
	if r.NoHash {
		hc <- hashed{err: errNotHashed} // checks are off: read the part only once, to send it
	} else {
		go func() {
			s, err := hashBlob(hctx, part, r.Length, false)
			hc <- hashed{s.CRC64, err}
		}()
	}

	resp, err := protect(func() (*smh.Response, error) { return sendXHR(ctx, part, r) })
	switch {
	case err != nil && ctx.Err() == nil:
		// A File whose file on disk was deleted or changed fails the XHR
		// like a network error: status 0, no reason given. A read of the
		// slice tells the two apart; a file that is gone is not retried.
		if rerr := b.readable(ctx, r.Offset); rerr != nil {
			return nil, rerr
		}
		return nil, err
	case err != nil:
		return nil, err
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return &smh.PutResponse{Response: *resp}, nil // the engine reads the error; no CRC needed
	}
	select {
	case h := <-hc:
		return &smh.PutResponse{Response: *resp, CRC64: h.crc, Hashed: h.err == nil}, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// sendXHR PUTs body, the part's Blob, as r says, or POSTs it as the file
// of r's form.
func sendXHR(ctx context.Context, body js.Value, r *smh.PutRequest) (*smh.Response, error) {
	xhr := jsXHR.New()
	send := body
	if r.Form != nil {
		xhr.Call("open", "POST", r.URL)
		send = jsFormData.New() // the browser sets Content-Type with the boundary
		for _, f := range r.Form {
			send.Call("append", f.Name, f.Value)
		}
		send.Call("append", "file", body) // last, as COS requires
	} else {
		xhr.Call("open", "PUT", r.URL)
		for k, v := range r.Header {
			switch k {
			case "content-length", "host": // the browser sets them
			default:
				xhr.Call("setRequestHeader", k, v)
			}
		}
	}
	// Event handlers only record and signal, never block: progress goes to
	// the engine from this goroutine.
	var loaded atomic.Int64
	progressed := make(chan struct{}, 1)
	ended := make(chan struct{}, 1)
	onProgress := js.FuncOf(func(_ js.Value, args []js.Value) any {
		loaded.Store(int64(arg(args, 0).Get("loaded").Float()))
		select {
		case progressed <- struct{}{}:
		default:
		}
		return nil
	})
	onEnd := js.FuncOf(func(js.Value, []js.Value) any {
		select {
		case ended <- struct{}{}:
		default:
		}
		return nil
	})
	defer func() {
		xhr.Set("onloadend", js.Null())
		onProgress.Release()
		onEnd.Release()
	}()
	if r.Form == nil {
		// An upload listener makes any request preflighted (XHR spec, send()),
		// so a form, which is sent to skip its preflight, has none: its few
		// bytes are one step of progress, which the engine reports when stored.
		up := xhr.Get("upload")
		defer up.Set("onprogress", js.Null())
		up.Set("onprogress", onProgress)
	}
	xhr.Set("onloadend", onEnd)
	xhr.Call("send", send)

	done := ctx.Done()
wait:
	for {
		select {
		case <-progressed:
			if r.Progress != nil {
				r.Progress(loaded.Load())
			}
		case <-done:
			done = nil
			xhr.Call("abort") // loadend follows
		case <-ended:
			break wait
		}
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	status := xhr.Get("status").Int()
	if status == 0 {
		return nil, errors.New("the part request failed: network error, connection reset, or blocked by the storage host's CORS setting")
	}
	resp := &smh.Response{StatusCode: status, Header: parseHeaders(xhr.Call("getAllResponseHeaders").String())}
	if text := xhr.Get("responseText"); text.Type() == js.TypeString {
		s := text.String()
		resp.Body = []byte(s[:min(len(s), maxPutAnswer)])
	}
	return resp, nil
}

// parseHeaders reads getAllResponseHeaders: "name: value" lines. Only the
// headers the storage host exposes through CORS are there.
func parseHeaders(all string) smh.Header {
	h := smh.Header{}
	for _, line := range strings.Split(all, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return h
}
