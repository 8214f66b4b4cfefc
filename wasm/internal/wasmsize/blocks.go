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
const DataFormat = 1

// blockSize is the unit in which packBlocks decides between storing and
// deflating: deflate's window, so that a chunk deflated on its own loses
// little against the same bytes deflated in a longer block.
const blockSize = 32 << 10

// packBlocks is DataSection's payload for image (the segments' headers and
// bytes, as encodeSegments writes them): DataFormat and the image's length,
// then blocks that fill the image, each its offset in it and its length
// << 1 | 1 when its bytes are raw deflate (DecompressionStream("deflate-raw")
// in the loader) or | 0 when they are stored (ULEB128s), then its bytes.
// Each chunk is deflated once to decide and its block once more to emit:
// adjacent chunks deflate better as one stream, and this runs at build time.
//
// Why not deflate all: the file is served Brotli-compressed where it can be,
// and Brotli over deflated bytes finds nothing left to compress. Deflating
// all of smh.data makes the file 0.87 MB smaller raw (what a host that does
// not compress sends, and what V8 keeps) and no bigger gzipped, but 72 KB
// bigger Brotli-compressed. Much of the image is regular (segment headers,
// the function-lookup table's two-byte entries, tables of small integers),
// and there deflate saves nearly what Brotli would: a chunk is deflated when
// what Brotli loses on it (deflated size minus its own Brotli size) is at
// most maxLoss of the raw bytes deflate saves. maxLoss < 0 stores all.
func packBlocks(image []byte, maxLoss float64) ([]byte, error) {
	out := []byte{DataFormat}
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
	// Stored blocks go first and deflated ones after them, each with its
	// offset in the image: the stored bytes stay one run, as in the image,
	// for the HTTP compressor.
	var stored, packed []byte
	emit := func(at int, c []byte, deflate bool) error {
		if len(c) == 0 {
			return nil
		}
		if !deflate {
			stored = appendULEB(stored, uint64(at))
			stored = appendULEB(stored, uint64(len(c))<<1)
			stored = append(stored, c...)
			return nil
		}
		z, err := deflated(c)
		if err != nil {
			return err
		}
		packed = appendULEB(packed, uint64(at))
		packed = appendULEB(packed, uint64(len(z))<<1|1)
		packed = append(packed, z...)
		return nil
	}
	// Adjacent chunks of one kind go out as one block: a deflate stream that
	// runs on keeps its window across them.
	start, inDeflate := 0, false
	for off := 0; off < len(image); off += blockSize {
		c := image[off:min(off+blockSize, len(image))]
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
			if err := emit(start, image[start:off], inDeflate); err != nil {
				return nil, err
			}
			start, inDeflate = off, d
		}
	}
	if err := emit(start, image[start:], inDeflate); err != nil {
		return nil, err
	}
	out = appendULEB(out, uint64(len(image)))
	out = append(out, stored...)
	out = append(out, packed...)
	return out, nil
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

// unpackBlocks is the inverse of packBlocks, as the loader decodes it.
func unpackBlocks(payload []byte) ([]byte, error) {
	if len(payload) == 0 || payload[0] != DataFormat {
		return nil, fmt.Errorf("%w: %s is not in format %d", errFormat, DataSection, DataFormat)
	}
	r := &reader{b: payload, off: 1}
	image := make([]byte, r.uleb())
	filled := 0
	for r.off < len(payload) && r.err == nil {
		at, h := r.uleb(), r.uleb()
		n := h >> 1
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
			c = d
		}
		if at+len(c) > len(image) {
			return nil, fmt.Errorf("%w: a block of %s runs past the image", errFormat, DataSection)
		}
		copy(image[at:], c)
		filled += len(c)
	}
	if r.err != nil || filled != len(image) {
		return nil, fmt.Errorf("%w: the blocks of %s do not fill its image", errFormat, DataSection)
	}
	return image, nil
}
