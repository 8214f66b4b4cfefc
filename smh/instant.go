package smh

import (
	"context"
	"encoding/hex"
	"io"

	"github.com/smhupload/smh-upload/internal/purehash"
)

// instantBlock is the block of SMH's instant-upload hashes (smh-api.md §3):
// beginningHash covers the first block, fullHash chains every block.
const instantBlock = 1 << 20

// InstantUploadMinSize is the smallest file SMH deduplicates by hash.
const InstantUploadMinSize = instantBlock

// instantHashes computes beginningHash (SHA-256 of the first MiB) and, when
// full is set, fullHash: H1 = SHA-256(block 1), Hi = SHA-256(Hi-1 ‖ block i),
// hex of the last. It reads in 1 MiB steps through one buffer and checks ctx
// between steps, so a browser stays responsive.
func instantHashes(ctx context.Context, r io.ReaderAt, size int64, full bool) (begin, whole string, err error) {
	buf := make([]byte, instantBlock)
	var prev []byte
	for off := int64(0); off < size || off == 0; off += instantBlock {
		if err := ctx.Err(); err != nil {
			return "", "", err
		}
		n := min(int64(instantBlock), size-off)
		if _, err := r.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return "", "", err
		}
		h := purehash.NewSHA256()
		h.Write(prev)
		h.Write(buf[:n])
		prev = h.Sum(nil)
		if off == 0 {
			begin = hex.EncodeToString(prev)
			if !full {
				return begin, "", nil
			}
		}
		if size == 0 {
			break
		}
	}
	return begin, hex.EncodeToString(prev), nil
}

// beginInstant tries an instant upload: begin with beginningHash; after a
// 202, hash the whole file and begin again with fullHash. The answer is the
// file (done, no bytes sent) or an ordinary task.
func (t *Task) beginInstant(ctx context.Context, fn func(context.Context, BeginOptions) (*BeginResult, error), o BeginOptions) (*BeginResult, error) {
	r, ok := t.body.(io.ReaderAt)
	size := t.body.Size()
	if !ok || size < InstantUploadMinSize {
		return fn(ctx, o)
	}
	begin, _, err := instantHashes(ctx, r, size, false)
	if err != nil {
		return nil, &Error{Op: "begin", Code: "ReadError", Message: "hashing the file: " + err.Error(), Err: err}
	}
	o.BeginningHash = begin
	res, err := fn(ctx, o)
	if err != nil || !res.NeedFullHash {
		return res, err
	}
	_, whole, err := instantHashes(ctx, r, size, true)
	if err != nil {
		return nil, &Error{Op: "begin", Code: "ReadError", Message: "hashing the file: " + err.Error(), Err: err}
	}
	o.FullHash = whole
	res, err = fn(ctx, o)
	if err == nil && res.File != nil {
		emit(ctx, Event{Type: EventInstant})
	}
	return res, err
}
