package smh

import (
	"hash/crc64"
	"strconv"
)

// ECMATable is the CRC-64/ECMA-182 table (reflected, init and xorout all
// ones) that COS uses for x-cos-hash-crc64ecma and SMH for confirm.
var ECMATable = crc64.MakeTable(crc64.ECMA)

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
