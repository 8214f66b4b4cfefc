//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"hash"
	"io"
	"sync"
	"syscall/js"

	"github.com/smhupload/smh-upload/smh"

	"github.com/smhupload/smh-upload/internal/purehash"
)

// Hashing streams the Blob through one reused 1 MiB buffer: a BYOB
// ("bring your own buffer") reader fills a 1 MiB ArrayBuffer, which is
// copied into a pooled Go buffer of the same size, hashed, and handed back
// to the reader for the next read. The browser reads ahead while Go hashes,
// nothing larger than 1 MiB is allocated per part, and the event loop runs
// between steps. Measured in headless Chromium over 96 MiB: 16 MiB
// arrayBuffer() chunks with the same copy and CRC ran at about 300 MiB/s
// and left every chunk to the garbage collector; the stream runs at about
// 750 MiB/s. Browsers without byte streams on Blobs get the chunked path.
const (
	hashStep  = 1 << 20
	readChunk = 16 << 20 // the fallback's arrayBuffer() size
)

// blobStreams is false only in tests of the chunked path.
var blobStreams = true

// hashBuf is a Go buffer and the ArrayBuffer that reads fill before each
// copy into it. Both are reused from part to part: an ArrayBuffer left to
// each part stays alive until Go's collector finalizes the js.Value that
// last held it, which with a Go heap of a few MiB is seldom (measured over
// 1 GiB: renderer RSS +130 MiB, a MiB per part).
type hashBuf struct {
	b  []byte
	ab js.Value // undefined until first used; detached if a read was abandoned
}

var bufPool = sync.Pool{New: func() any { return &hashBuf{b: make([]byte, hashStep)} }}

// blobBody is an smh.Body over a JS Blob or File. Part bytes stay in the
// browser: the XHR transport sends Blob.slice(off, end), and only the
// hashing below copies them, a small buffer at a time.
type blobBody struct {
	blob js.Value
	size int64
}

func newBlobBody(b js.Value) *blobBody {
	return &blobBody{blob: b, size: int64(b.Get("size").Float())}
}

// Size returns the Blob's size.
func (b *blobBody) Size() int64 { return b.size }

// readable reads the byte at off and returns an error wrapping
// smh.ErrSourceRead if the Blob refuses: a File whose file on disk was
// deleted (NotFoundError) or changed (NotReadableError) since it was chosen.
func (b *blobBody) readable(ctx context.Context, off int64) error {
	_, err := protect(func() (js.Value, error) {
		return await(ctx, b.blob.Call("slice", off, off+1).Call("arrayBuffer"), nil)
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: %v", smh.ErrSourceRead, err)
	}
	return nil
}

// ReadAt copies len(p) bytes at off into p. Only instant upload uses it,
// to hash the file in 1 MiB steps through one buffer; every call awaits the
// Blob, so the event loop runs between steps.
func (b *blobBody) ReadAt(p []byte, off int64) (int, error) {
	return protect(func() (int, error) {
		ab, err := await(context.Background(), b.blob.Call("slice", off, off+int64(len(p))).Call("arrayBuffer"), nil)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", smh.ErrSourceRead, err)
		}
		u8 := jsUint8Array.New(ab)
		n := js.CopyBytesToGo(p, u8)
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	})
}

// Sum returns the CRC-64/ECMA and MD5 of [off, off+n).
func (b *blobBody) Sum(ctx context.Context, off, n int64) (smh.Sum, error) {
	return hashBlob(ctx, b.slice(off, n), n, true)
}

// slice returns the Blob of [off, off+n). Slicing a File costs a round trip
// to the browser process (about 1.7 ms of the Worker's time in a queue of
// small files, more than their hashing), so a part's one slice is both sent
// and hashed, and a range that is the whole Blob (a small file's one PUT)
// is the Blob itself.
func (b *blobBody) slice(off, n int64) js.Value {
	if off == 0 && n == b.size {
		return b.blob
	}
	return b.blob.Call("slice", off, off+n)
}

// hashBlob returns the CRC-64/ECMA, and the MD5 if withMD5, of the n bytes
// of a Blob (a slice of the file); fewer bytes are an ErrSourceRead.
func hashBlob(ctx context.Context, blob js.Value, n int64, withMD5 bool) (smh.Sum, error) {
	return protect(func() (smh.Sum, error) { return hashAll(ctx, blob, n, withMD5) })
}

func hashAll(ctx context.Context, blob js.Value, n int64, withMD5 bool) (smh.Sum, error) {
	c := smh.NewCRC64()
	var m hash.Hash
	if withMD5 {
		m = purehash.NewMD5()
	}
	w := io.Writer(c)
	if m != nil {
		w = io.MultiWriter(c, m)
	}
	hb := bufPool.Get().(*hashBuf)
	defer bufPool.Put(hb)
	var err error
	if r, ok := byobReader(blob); ok {
		err = streamTo(ctx, r, n, hb, w)
	} else {
		err = chunksTo(ctx, blob, 0, n, hb.b, w)
	}
	if err != nil {
		return smh.Sum{}, err
	}
	s := smh.Sum{CRC64: c.Sum64()}
	if m != nil {
		copy(s.MD5[:], m.Sum(nil))
	}
	return s, nil
}

// byobReader returns a BYOB reader of blob's stream, if the browser's Blob
// streams are byte streams (Chromium and Firefox are).
func byobReader(blob js.Value) (js.Value, bool) {
	if !blobStreams {
		return js.Value{}, false
	}
	r, err := protect(func() (js.Value, error) {
		opts := jsObject.New()
		opts.Set("mode", "byob")
		return blob.Call("stream").Call("getReader", opts), nil
	})
	return r, err == nil
}

// streamTo reads exactly n bytes from a BYOB reader into w, through hb.
func streamTo(ctx context.Context, r js.Value, n int64, hb *hashBuf, w io.Writer) error {
	cancel := func() { r.Call("cancel") }
	buf := hb.b
	if hb.ab.IsUndefined() || hb.ab.Get("byteLength").Int() != len(buf) {
		hb.ab = jsArrayBuffer.New(len(buf))
	}
	ab := hb.ab
	defer func() { hb.ab = ab }()
	for got := int64(0); got < n; {
		view := jsUint8Array.New(ab, 0, min(int64(len(buf)), n-got))
		res, err := await(ctx, r.Call("read", view), cancel)
		if err != nil {
			return sourceErr(ctx, err)
		}
		if res.Get("done").Bool() {
			if v := res.Get("value"); v.Type() == js.TypeObject {
				ab = v.Get("buffer")
			}
			return fmt.Errorf("%w: read %d bytes, want %d: the file changed", smh.ErrSourceRead, got, n)
		}
		v := res.Get("value")
		ab = v.Get("buffer") // the read took ab; its bytes come back here
		// Hash in a task of our own, not in the one that delivered the
		// bytes, which the browser may run ahead of timers and input. With
		// the module in the page, four 256 MiB uploads: stalls of a 10 ms
		// timer over 50 ms 12 -> 7, the longest 146 -> 102 ms.
		yieldToEventLoop()
		if err := ctx.Err(); err != nil {
			cancel()
			return context.Cause(ctx)
		}
		k := js.CopyBytesToGo(buf, v)
		w.Write(buf[:k])
		got += int64(k)
	}
	// The stream is not at its end until a read says so; until then (or its
	// collection) the browser keeps its data pipe open. Measured over 1 GiB:
	// renderer RSS +277 MiB without this cancel.
	cancel()
	return nil
}

// chunksTo reads [off, off+n) of blob into w with arrayBuffer() calls of
// at most readChunk bytes, copied through buf a step at a time.
func chunksTo(ctx context.Context, blob js.Value, off, n int64, buf []byte, w io.Writer) error {
	for pos, end := off, off+n; pos < end; {
		k := min(int64(readChunk), end-pos)
		ab, err := await(ctx, blob.Call("slice", pos, pos+k).Call("arrayBuffer"), nil)
		if err != nil {
			return sourceErr(ctx, err)
		}
		u8 := jsUint8Array.New(ab)
		if got := int64(u8.Length()); got != k {
			return fmt.Errorf("%w: read %d bytes at %d, want %d: the file changed", smh.ErrSourceRead, got, pos, k)
		}
		for i := int64(0); i < k; {
			j := min(i+int64(len(buf)), k)
			p := buf[:j-i]
			js.CopyBytesToGo(p, u8.Call("subarray", i, j))
			w.Write(p)
			i = j
			yieldToEventLoop()
			if err := ctx.Err(); err != nil {
				return context.Cause(ctx)
			}
		}
		pos += k
	}
	return nil
}

// sourceErr says that the Blob refused a read, as readable explains, unless
// the read ended because ctx did.
func sourceErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return fmt.Errorf("%w: %v", smh.ErrSourceRead, err)
}
