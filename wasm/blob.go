//go:build js && wasm

package main

import (
	"context"
	"crypto/md5"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"runtime"
	"sync"
	"syscall/js"

	"github.com/smhupload/smh-upload/smh"
)

// Hashing reads a Blob in bounded steps so that neither Go memory nor the
// event loop is held for long: at most readChunk bytes per arrayBuffer (in
// JS memory), copied into Go through one copyBuf-sized buffer, yielding to
// the event loop after every hashStep bytes. A 1 MiB copy buffer makes one
// subarray and one copy per MiB; 64 KiB ones spent a sixth of the hashing
// time in syscall/js (median 85 -> 94 MiB/s in make bench-browser). Four
// parts in flight hold four such buffers.
const (
	readChunk = 16 << 20
	hashStep  = 1 << 20
	copyBuf   = hashStep
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBuf); return &b }}

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
	return b.hash(ctx, off, n, true)
}

func (b *blobBody) hash(ctx context.Context, off, n int64, withMD5 bool) (smh.Sum, error) {
	return protect(func() (smh.Sum, error) { return b.hashRange(ctx, off, n, withMD5) })
}

func (b *blobBody) hashRange(ctx context.Context, off, n int64, withMD5 bool) (smh.Sum, error) {
	c := crc64.New(smh.ECMATable)
	var m hash.Hash
	if withMD5 {
		m = md5.New()
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for pos, end := off, off+n; pos < end; {
		k := min(int64(readChunk), end-pos)
		ab, err := await(ctx, b.blob.Call("slice", pos, pos+k).Call("arrayBuffer"), nil)
		if err != nil {
			if ctx.Err() == nil { // the Blob refused, as readable explains
				err = fmt.Errorf("%w: %v", smh.ErrSourceRead, err)
			}
			return smh.Sum{}, err
		}
		u8 := jsUint8Array.New(ab)
		if got := int64(u8.Length()); got != k {
			return smh.Sum{}, fmt.Errorf("%w: read %d bytes at %d, want %d: the file changed", smh.ErrSourceRead, got, pos, k)
		}
		for i := int64(0); i < k; {
			step := min(i+hashStep, k)
			for i < step {
				j := min(i+copyBuf, step)
				p := buf[:j-i]
				js.CopyBytesToGo(p, u8.Call("subarray", i, j))
				c.Write(p)
				if m != nil {
					m.Write(p)
				}
				i = j
			}
			yieldToEventLoop()
			if err := ctx.Err(); err != nil {
				return smh.Sum{}, context.Cause(ctx)
			}
		}
		pos += k
		// The chunk's ArrayBuffer stays alive in wasm_exec.js until Go's
		// collector finalizes every js.Value that refers to it (the buffer,
		// its view and each subarray), and a Go heap of a few MiB is seldom
		// collected. One collection per chunk lets them go sooner (measured:
		// ArrayBuffer growth over a 256 MiB upload 256 → 184 MiB); the rest
		// waits for V8's own collector. It costs well under a millisecond.
		runtime.GC()
	}
	s := smh.Sum{CRC64: c.Sum64()}
	if m != nil {
		copy(s.MD5[:], m.Sum(nil))
	}
	return s, nil
}
