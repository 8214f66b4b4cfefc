package smh

import (
	"encoding/binary"
	"hash"
	"hash/crc64"
	"strconv"

	"github.com/smhupload/smh-upload/smh/internal/crc64ecma"
)

// ECMATable is the CRC-64/ECMA-182 table (reflected, init and xorout all
// ones) that COS uses for x-cos-hash-crc64ecma and SMH for confirm. It is
// not hash/crc64's crc64.MakeTable(crc64.ECMA), which builds 32 KB of
// tables at package init; crc64.Update still takes its fast path with it.
var ECMATable = crc64ecma.Table

// NewCRC64 returns a hash of the CRC-64/ECMA that COS and SMH use: the same
// sums as crc64.New(ECMATable), 16 bytes a step instead of 8. Part CRCs are
// the one CPU cost of verified uploads, and in the browser they share two
// cores with Chromium's own work. BenchmarkCRC64, against hash/crc64 in the
// same run: 1.22x natively, 1.42x in js/wasm under Node's V8.
func NewCRC64() hash.Hash64 { return new(crc64Digest) }

// UpdateCRC64 returns the CRC-64/ECMA of the bytes whose CRC is crc followed
// by p, like crc64.Update(crc, ECMATable, p).
func UpdateCRC64(crc uint64, p []byte) uint64 { return crc64ecma.Update(crc, p) }

type crc64Digest struct{ crc uint64 }

func (d *crc64Digest) Write(p []byte) (int, error) {
	d.crc = UpdateCRC64(d.crc, p)
	return len(p), nil
}

func (d *crc64Digest) Sum64() uint64 { return d.crc }

func (d *crc64Digest) Sum(in []byte) []byte { return binary.BigEndian.AppendUint64(in, d.crc) }

func (d *crc64Digest) Reset() { d.crc = 0 }

func (d *crc64Digest) Size() int { return crc64.Size }

func (d *crc64Digest) BlockSize() int { return 1 }

// CombineCRC64 returns the CRC-64/ECMA of A‖B given crc1 of A, crc2 of B and
// B's length. The whole-file CRC for confirm is built from the part CRCs with
// it, so the file is never read a second time. It is zlib's crc32_combine in
// 64 bits: multiply crc1 by x^(8·len2) in GF(2) using repeated squaring of the
// one-zero-bit operator.
func CombineCRC64(crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1
	}
	var even, odd [64]uint64
	odd[0] = crc64.ECMA
	row := uint64(1)
	for n := 1; n < 64; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // operator for two zero bits
	gf2Square(&odd, &even) // four zero bits
	for {
		gf2Square(&even, &odd) // first pass: one zero byte
		if len2&1 != 0 {
			crc1 = gf2Times(&even, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		gf2Square(&odd, &even)
		if len2&1 != 0 {
			crc1 = gf2Times(&odd, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat *[64]uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[64]uint64) {
	for n := range 64 {
		square[n] = gf2Times(mat, mat[n])
	}
}

// FormatCRC64 renders a CRC the way COS and SMH do: unsigned decimal.
func FormatCRC64(c uint64) string { return strconv.FormatUint(c, 10) }

// ParseCRC64 reads an unsigned decimal CRC.
func ParseCRC64(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
