//go:build !js

package wasmsize

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
)

// DataFormat is the first byte of DataSection's payload: the version of its
// layout, so that a loader meeting a module built for another one says so
// instead of writing garbage into memory.
const DataFormat = 2

// blockSize is the unit in which packBlocks decides between storing and
// deflating: deflate's window, so that a chunk deflated on its own loses
// little against the same bytes deflated in a longer block.
const blockSize = 32 << 10

// packBlocks is DataSection's payload for segs (in address order, as
// mergeSegments leaves them): DataFormat, then blocks that together write
// the segments' bytes. A block is its address in memory and its length << 1
// | 0 when its bytes are stored, or | 1 when they are raw deflate
// (DecompressionStream("deflate-raw") in the loader), followed by the
// length they inflate to (ULEB128s); then its bytes. Each chunk is deflated
// once to decide and its block once more to emit: adjacent chunks deflate
// better as one stream, and this runs at build time.
//
// Why blocks at memory addresses: the loader inflates each block's bytes
// into chunks of its own and copies them into the instance's memory as they
// are, with no image in between to build and read.
//
// Why not deflate all: the file is served Brotli-compressed where it can be,
// and Brotli over deflated bytes finds nothing left to compress. Deflating
// all of smh.data makes the file 0.87 MB smaller raw (what a host that does
// not compress sends, and what V8 keeps) and no bigger gzipped, but 72 KB
// bigger Brotli-compressed. Much of the data is regular (the function-lookup
// table's two-byte entries, tables of small integers), and there deflate
// saves nearly what Brotli would: a chunk is deflated when what Brotli loses
// on it (deflated size minus its own Brotli size) is at most maxLoss of the
// raw bytes deflate saves. maxLoss < 0 stores all.
func packBlocks(segs []segment, maxLoss float64) ([]byte, error) {
	deflated := func(c []byte) ([]byte, error) {
		var buf bytes.Buffer
		z, err := flate.NewWriter(&buf, flate.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := z.Write(c); err != nil {
			return nil, err
		}
		if err := z.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	// Stored blocks go first and deflated ones after them: the stored bytes
	// stay one run, in address order, for the HTTP compressor.
	var stored, packed []byte
	emit := func(addr int, c []byte, deflate bool) error {
		if len(c) == 0 {
			return nil
		}
		if !deflate {
			stored = appendULEB(stored, uint64(addr))
			stored = appendULEB(stored, uint64(len(c))<<1)
			stored = append(stored, c...)
			return nil
		}
		z, err := deflated(c)
		if err != nil {
			return err
		}
		packed = appendULEB(packed, uint64(addr))
		packed = appendULEB(packed, uint64(len(z))<<1|1)
		packed = appendULEB(packed, uint64(len(c)))
		packed = append(packed, z...)
		return nil
	}
	for _, s := range segs {
		// Adjacent chunks of one kind go out as one block: a deflate stream
		// that runs on keeps its window across them.
		start, inDeflate := 0, false
		for off := 0; off < len(s.data); off += blockSize {
			c := s.data[off:min(off+blockSize, len(s.data))]
			d := false
			if maxLoss >= 0 {
				z, err := deflated(c)
				if err != nil {
					return nil, err
				}
				saved := len(c) - len(z)
				d = saved > 0 && float64(len(z)-brotliSize(c)) <= maxLoss*float64(saved)
			}
			if d != inDeflate {
				if err := emit(s.addr+start, s.data[start:off], inDeflate); err != nil {
					return nil, err
				}
				start, inDeflate = off, d
			}
		}
		if err := emit(s.addr+start, s.data[start:], inDeflate); err != nil {
			return nil, err
		}
	}
	out := append([]byte{DataFormat}, stored...)
	return append(out, packed...), nil
}

// brotliSize is the size of c Brotli-compressed at quality 11, as make wasm
// writes smh.wasm.br.
func brotliSize(c []byte) int {
	var n countWriter
	z := brotli.NewWriterLevel(&n, brotli.BestCompression)
	z.Write(c) // a countWriter does not fail
	z.Close()
	return int(n)
}

type countWriter int

func (n *countWriter) Write(p []byte) (int, error) {
	*n += countWriter(len(p))
	return len(p), nil
}

// unpackBlocks is the inverse of packBlocks, as the loader decodes it: the
// blocks' addresses and bytes, in the order they are stored.
func unpackBlocks(payload []byte) ([]segment, error) {
	if len(payload) == 0 || payload[0] != DataFormat {
		return nil, fmt.Errorf("%w: %s is not in format %d", errFormat, DataSection, DataFormat)
	}
	var out []segment
	r := &reader{b: payload, off: 1}
	for r.off < len(payload) && r.err == nil {
		addr, h := r.uleb(), r.uleb()
		n, size := h>>1, h>>1
		if h&1 == 1 {
			size = r.uleb()
		}
		if r.err != nil || r.off+n > len(payload) {
			return nil, fmt.Errorf("%w: a block of %s runs past its end", errFormat, DataSection)
		}
		c := payload[r.off : r.off+n]
		r.off += n
		if h&1 == 1 {
			d, err := io.ReadAll(flate.NewReader(bytes.NewReader(c)))
			if err != nil {
				return nil, fmt.Errorf("%w: a block of %s: %w", errFormat, DataSection, err)
			}
			if len(d) != size {
				return nil, fmt.Errorf("%w: a block of %s inflates to %d bytes, not %d", errFormat, DataSection, len(d), size)
			}
			c = d
		}
		out = append(out, segment{addr, c})
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %s ends early", errFormat, DataSection)
	}
	return out, nil
}
