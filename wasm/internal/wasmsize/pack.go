//go:build !js

package wasmsize

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// DataSection is the name of the custom section into which MoveData moves
// a module's data segments. smh-upload-run.js writes them into the
// instance's memory before Go's runtime starts.
const DataSection = "smh.data"

// MoveData rewrites a module's data: the segments at most maxGap zero
// bytes apart merged, and the regular parts of them deflated into the custom
// section DataSection, at the end (packData, with maxLoss); the rest stays
// in the data section, as a few active segments. Memory after the loader has
// written DataSection's runs is the same byte for byte as after a plain
// instantiation.
//
// Why: Go's linker starts a new segment at every run of more than 8 zero
// bytes, and on js/wasm its function-lookup table (runtime.findfunctab, one
// 20-byte bucket per 4 KiB of a program counter space that is function
// index << 16) is about 50,000 buckets of 2 bytes and 18 zeros. A data
// segment's header (flags, i32.const address, end, length) is 7-8 bytes,
// whose address differs from the last one's, so that gzip and Brotli store
// it at 3-4 bytes apiece; merging the segments instead stores the zeros,
// 0.8 MB of a 4.75 MB file, which V8 then receives, hashes and keeps. The
// zeros that merging keeps end up in deflated runs, where they cost next
// to nothing: make wasm merges at 256 zero bytes (WASM_PACK_GAP), which
// leaves 5 segments.
func MoveData(b []byte, maxGap int, maxLoss float64) ([]byte, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		return nil, errFormat
	}
	if hasCustom(b, DataSection) {
		return b, nil // moved already
	}
	r := &reader{b: b, off: 8}
	// A data count section goes, as the segments it counts do. wasm-opt
	// writes one whenever bulk memory is enabled (Go's code uses memory.copy
	// and memory.fill), for active segments too; only memory.init and
	// data.drop need it, and with it gone a module using them no longer
	// validates, so a module whose code named segments could not run on
	// with them renumbered.
	dcStart, dcEnd, dcCount := 8, 8, -1 // an empty cut when there is none
	for r.off < len(b) {
		start := r.off
		id := r.byte()
		size := r.uleb()
		end := r.off + size
		if r.err != nil || end > len(b) {
			return nil, fmt.Errorf("%w: a section runs past the end", errFormat)
		}
		if id == 12 {
			dc := &reader{b: b[:end], off: r.off}
			dcStart, dcEnd, dcCount = start, end, dc.uleb()
			if dc.err != nil {
				return nil, fmt.Errorf("%w: the data count section is cut off", errFormat)
			}
			r.off = end
			continue
		}
		if id != 11 {
			r.off = end
			continue
		}
		segs, err := readSegments(&reader{b: b[:end], off: r.off})
		if err != nil {
			return nil, fmt.Errorf("%w: data section: %v", errFormat, err)
		}
		if dcCount >= 0 && dcCount != len(segs) {
			return nil, fmt.Errorf("%w: the data count section says %d segments, the data section has %d", errFormat, dcCount, len(segs))
		}
		stored, payload, err := packData(mergeSegments(segs, maxGap), maxLoss)
		if err != nil {
			return nil, err
		}
		// The data count section, if any, comes before the code and data sections.
		out := append([]byte(nil), b[:dcStart]...)
		out = append(out, b[dcEnd:start]...)
		if len(stored) > 0 {
			out = append(out, dataSection(stored)...)
		}
		out = append(out, b[end:]...)
		if payload == nil {
			return out, nil
		}
		return append(out, customSection(DataSection, payload)...), nil
	}
	return b, nil // no data section
}

// hasCustom reports whether b, a module, has a custom section of that name.
func hasCustom(b []byte, name string) bool {
	r := &reader{b: b, off: 8}
	for r.off < len(b) && r.err == nil {
		id, size := r.byte(), r.uleb()
		end := r.off + size
		if id == 0 && end <= len(b) && (&reader{b: b[:end], off: r.off}).name() == name {
			return true
		}
		r.off = end
	}
	return false
}

func customSection(name string, payload []byte) []byte {
	body := appendULEB(nil, uint64(len(name)))
	body = append(append(body, name...), payload...)
	out := appendULEB([]byte{0}, uint64(len(body)))
	return append(out, body...)
}

// dataSection is a data section of active segments of memory 0.
func dataSection(segs []segment) []byte {
	body := appendULEB(nil, uint64(len(segs)))
	for _, s := range segs {
		body = append(body, 0, 0x41) // active, memory 0; i32.const
		body = appendSLEB(body, int64(s.addr))
		body = append(body, 0x0b)
		body = appendULEB(body, uint64(len(s.data)))
		body = append(body, s.data...)
	}
	out := appendULEB([]byte{11}, uint64(len(body)))
	return append(out, body...)
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
