// Package crc64ecma is the CRC-64/ECMA-182 that COS and SMH use, 16 bytes a
// step. It is a package of its own so that the browser build can compile smh
// without inlining (smaller code, for a start-up that streams and decodes
// every byte) while this loop, the one that runs over every byte of a
// verified upload, keeps its inlined loads.
package crc64ecma

import (
	"encoding/binary"
	"hash/crc64"
	"sync"
)

// Table is the CRC-64/ECMA-182 table (reflected, init and xorout all ones).
//
// Built here, as crc64.MakeTable's simple table is, rather than by
// crc64.MakeTable itself, which first builds hash/crc64's slicing-by-8
// tables for both ECMA and ISO (32 KB) at package init: in the browser the
// module's start-up is CPU-bound, and Update uses slicing16, built on first
// use. crc64.Update still takes its fast path with this table, which it
// recognises by value.
var Table = makeTable(crc64.ECMA)

// makeTable is the 256-entry table of the reflected polynomial poly.
func makeTable(poly uint64) *crc64.Table {
	t := new(crc64.Table)
	for i := range t {
		crc := uint64(i)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
		t[i] = crc
	}
	return t
}

// Update returns the CRC-64/ECMA of the bytes whose CRC is crc followed by
// p, like crc64.Update(crc, Table, p).
func Update(crc uint64, p []byte) uint64 {
	slicing16Once.Do(buildSlicing16)
	t := &slicing16 // a package-level array: V8 indexes it from a constant address
	crc = ^crc
	for len(p) >= 16 {
		q := p[:16]
		a := crc ^ binary.LittleEndian.Uint64(q)
		crc = t[15][byte(a)] ^ t[14][byte(a>>8)] ^ t[13][byte(a>>16)] ^ t[12][byte(a>>24)] ^
			t[11][byte(a>>32)] ^ t[10][byte(a>>40)] ^ t[9][byte(a>>48)] ^ t[8][byte(a>>56)] ^
			t[7][q[8]] ^ t[6][q[9]] ^ t[5][q[10]] ^ t[4][q[11]] ^
			t[3][q[12]] ^ t[2][q[13]] ^ t[1][q[14]] ^ t[0][q[15]]
		p = p[16:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return ^crc
}

// slicing16 holds the tables of Update, built on first use rather than at
// start-up, which in the browser counts. slicing16[k][b] is the CRC state of
// byte b followed by k zero bytes.
var (
	slicing16     [16][256]uint64
	slicing16Once sync.Once
)

func buildSlicing16() {
	slicing16[0] = *Table
	for b := range 256 {
		c := slicing16[0][b]
		for k := 1; k < 16; k++ {
			c = slicing16[0][byte(c)] ^ c>>8
			slicing16[k][b] = c
		}
	}
}
