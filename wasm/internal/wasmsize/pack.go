//go:build !js

package wasmsize

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// PackData rewrites a module's data section so that segments less than
// maxGap zero bytes apart become one segment holding the zeros between
// them. Memory after instantiation is the same byte for byte.
//
// Why: Go's linker starts a new segment at every run of more than 8 zero
// bytes, and on js/wasm its function-lookup table (runtime.findfunctab, one
// 20-byte bucket per 4 KiB of a program counter space that is function
// index << 16) is 40,000 buckets of 2 bytes and 18 zeros. Each of those
// segments costs a header (flags, i32.const address, end, length) that
// differs from the last by its address, which gzip and Brotli store at
// 3-4 bytes apiece, while 18 zeros cost them almost nothing: merging trades
// raw bytes for fewer compressed ones.
func PackData(b []byte, maxGap int) ([]byte, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		return nil, errFormat
	}
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		start := r.off
		id := r.byte()
		size := r.uleb()
		end := r.off + size
		if r.err != nil || end > len(b) {
			return nil, fmt.Errorf("%w: a section runs past the end", errFormat)
		}
		if id != 11 {
			r.off = end
			continue
		}
		segs, err := readSegments(&reader{b: b[:end], off: r.off})
		if err != nil {
			return nil, fmt.Errorf("%w: data section: %v", errFormat, err)
		}
		sec := writeSegments(mergeSegments(segs, maxGap))
		out := append([]byte(nil), b[:start]...)
		out = append(out, 11)
		out = appendULEB(out, uint64(len(sec)))
		out = append(out, sec...)
		return append(out, b[end:]...), nil
	}
	return b, nil // no data section
}

type segment struct {
	addr int
	data []byte
}

func readSegments(r *reader) ([]segment, error) {
	n := r.uleb()
	segs := make([]segment, 0, n)
	for ; n > 0 && r.err == nil; n-- {
		// Go writes active segments of memory 0 at an i32.const address.
		if flags := r.byte(); flags != 0 {
			return nil, fmt.Errorf("segment flags %d: only active segments of memory 0 are packed", flags)
		}
		if r.byte() != 0x41 {
			return nil, errors.New("a segment's offset is not an i32.const")
		}
		addr := r.sleb()
		if r.byte() != 0x0b {
			return nil, errors.New("a segment's offset does not end after its i32.const")
		}
		l := r.uleb()
		if r.err != nil || addr < 0 || r.off+l > len(r.b) {
			return nil, errors.New("a segment runs past the end")
		}
		segs = append(segs, segment{addr, r.b[r.off : r.off+l]})
		r.off += l
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(r.b) {
		return nil, errors.New("bytes after the last segment")
	}
	return segs, nil
}

// mergeSegments joins segments at most maxGap bytes apart, in address
// order. Overlapping segments (which Go does not write) are kept apart, so
// the later one still wins as the format says.
func mergeSegments(segs []segment, maxGap int) []segment {
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].addr < segs[j].addr })
	var out []segment
	for _, s := range segs {
		if k := len(out) - 1; k >= 0 {
			gap := s.addr - (out[k].addr + len(out[k].data))
			if gap >= 0 && gap <= maxGap {
				d := append(out[k].data, make([]byte, gap)...)
				out[k].data = append(d, s.data...)
				continue
			}
		}
		out = append(out, segment{s.addr, append([]byte(nil), s.data...)})
	}
	return out
}

func writeSegments(segs []segment) []byte {
	out := appendULEB(nil, uint64(len(segs)))
	for _, s := range segs {
		out = append(out, 0, 0x41)
		out = appendSLEB(out, int64(s.addr))
		out = append(out, 0x0b)
		out = appendULEB(out, uint64(len(s.data)))
		out = append(out, s.data...)
	}
	return out
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// sleb reads a signed LEB128 of up to 32 bits (an i32.const).
func (r *reader) sleb() int {
	var v int64
	var shift uint
	for {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return int(v)
		}
		if shift > 35 {
			r.err = errors.New("LEB128 too long")
			return 0
		}
	}
}
