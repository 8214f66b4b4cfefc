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
const DataFormat = 3

// blockSize is the unit in which packData decides between storing and
// deflating: deflate's window, so that a chunk deflated on its own loses
// little against the same bytes in the one stream.
const blockSize = 32 << 10

// packData splits segs (in address order, as mergeSegments leaves them)
// into the runs that stay stored, as active segments of the data section,
// and DataSection's payload, which holds the rest deflated (nil when no
// chunk is worth it): DataFormat, the number of deflated runs, each run's
// memory address and length (ULEB128s), then one raw deflate stream
// (DecompressionStream("deflate-raw") in the loader) of the runs' bytes,
// one run after the other.
//
// Why stored runs stay in the data section: V8 copies them into memory as
// it instantiates the module, natively, where the loader would copy them
// out of the section and into memory in JavaScript first. Why one stream:
// in Chromium, reading 9 DecompressionStreams, one per run, at once took
// about twice as long as reading one of all 1.5 MB (medians 30 and 13 ms),
// on the way to Go's start.
//
// Why not deflate all: the file is served Brotli-compressed where it can be,
// and Brotli over deflated bytes finds nothing left to compress. Deflating
// all of the data makes the file 0.87 MB smaller raw (what a host that does
// not compress sends, and what V8 keeps) and no bigger gzipped, but 72 KB
// bigger Brotli-compressed. Much of the data is regular (the function-lookup
// table's two-byte entries, tables of small integers), and there deflate
// saves nearly what Brotli would: a chunk is deflated when what Brotli loses
// on it (its deflated size minus its own Brotli size) is at most maxLoss of
// the raw bytes deflate saves. maxLoss < 0 stores all. Each chunk is
// deflated once to decide and once more in the stream; this runs at build
// time.
func packData(segs []segment, maxLoss float64) (stored []segment, payload []byte, err error) {
	deflatedSize := func(c []byte) (int, error) {
		var n countWriter
		z, err := flate.NewWriter(&n, flate.BestCompression)
		if err != nil {
			return 0, err
		}
		if _, err := z.Write(c); err != nil {
			return 0, err
		}
		if err := z.Close(); err != nil {
			return 0, err
		}
		return int(n), nil
	}
	var runs []segment // deflated
	emit := func(addr int, c []byte, deflate bool) {
		switch {
		case len(c) == 0:
		case deflate:
			runs = append(runs, segment{addr, c})
		default:
			stored = append(stored, segment{addr, c})
		}
	}
	for _, s := range segs {
		// Adjacent chunks of one kind go out as one run.
		start, inDeflate := 0, false
		for off := 0; off < len(s.data); off += blockSize {
			c := s.data[off:min(off+blockSize, len(s.data))]
			d := false
			if maxLoss >= 0 {
				z, err := deflatedSize(c)
				if err != nil {
					return nil, nil, err
				}
				saved := len(c) - z
				d = saved > 0 && float64(z-brotliSize(c)) <= maxLoss*float64(saved)
			}
			if d != inDeflate {
				emit(s.addr+start, s.data[start:off], inDeflate)
				start, inDeflate = off, d
			}
		}
		emit(s.addr+start, s.data[start:], inDeflate)
	}
	if len(runs) == 0 {
		return stored, nil, nil
	}
	payload = appendULEB([]byte{DataFormat}, uint64(len(runs)))
	for _, r := range runs {
		payload = appendULEB(payload, uint64(r.addr))
		payload = appendULEB(payload, uint64(len(r.data)))
	}
	buf := bytes.NewBuffer(payload)
	z, err := flate.NewWriter(buf, flate.BestCompression)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range runs {
		if _, err := z.Write(r.data); err != nil {
			return nil, nil, err
		}
		// A block boundary at each run: runs differ (the lookup table's
		// zeros, pc tables), and a Huffman block across two cost 2.5 KB.
		if err := z.Flush(); err != nil {
			return nil, nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, nil, err
	}
	return stored, buf.Bytes(), nil
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

// unpackData is the inverse of packData's payload, as the loader decodes
// it: the deflated runs' addresses and bytes, in the order they are stored.
func unpackData(payload []byte) ([]segment, error) {
	if len(payload) == 0 || payload[0] != DataFormat {
		return nil, fmt.Errorf("%w: %s is not in format %d", errFormat, DataSection, DataFormat)
	}
	r := &reader{b: payload, off: 1}
	n := r.uleb()
	var addrs, sizes []int
	total := 0
	for ; n > 0 && r.err == nil; n-- {
		addrs, sizes = append(addrs, r.uleb()), append(sizes, r.uleb())
		total += sizes[len(sizes)-1]
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %s ends early", errFormat, DataSection)
	}
	all, err := io.ReadAll(flate.NewReader(bytes.NewReader(payload[r.off:])))
	if err != nil {
		return nil, fmt.Errorf("%w: the deflate stream of %s: %w", errFormat, DataSection, err)
	}
	if len(all) != total {
		return nil, fmt.Errorf("%w: the runs of %s inflate to %d bytes, not %d", errFormat, DataSection, len(all), total)
	}
	runs := make([]segment, len(addrs))
	for i, a := range addrs {
		runs[i], all = segment{a, all[:sizes[i]]}, all[sizes[i]:]
	}
	return runs, nil
}
