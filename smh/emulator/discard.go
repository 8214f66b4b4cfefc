package emulator

import "hash/crc64"

// This file holds what Config.Discard needs: storage that hashes part bodies and keeps nothing, and the
// whole-object CRC-64 derived from the part CRCs, so that confirm and CompleteMultipartUpload check a file
// without its bytes. A benchmark then measures the client and the network path, never the emulator's disk
// or memory.

// newPartSink starts a sink for a part or object body: a discarding one that only computes the CRC-64 and
// MD5 of the answer with Config.Discard, otherwise newSink's.
func (e *Emulator) newPartSink(dir string, sizeHint int64) (*sink, error) {
	if e.cfg.Discard {
		h := newHasher()
		h.lite = true
		return &sink{h: h, discard: true}, nil
	}
	return e.newSink(dir, sizeHint)
}

// combineParts is the digest of the parts' concatenation as far as it is known without their bytes: the
// size and the CRC-64 (combined from the part CRCs). The MD5 and the instant-upload hashes stay empty.
func combineParts(parts []*part) digest {
	var d digest
	for _, p := range parts {
		d.crc = crc64Combine(d.crc, p.crc, p.size)
		d.size += p.size
	}
	return d
}

// crc64Combine returns the CRC-64/ECMA-182 of A‖B from crcA, crcB and the length of B. It is zlib's
// crc32_combine (multiplication by x^(8·lenB) modulo the polynomial, in the reflected bit order) in 64
// bits. It is written independently of smh.CombineCRC64 on purpose: the emulator is the oracle that the
// client's combination is checked against.
func crc64Combine(crcA, crcB uint64, lenB int64) uint64 {
	if lenB <= 0 {
		return crcA
	}
	return mulModP(xPow8n(lenB), crcA) ^ crcB
}

// mulModP multiplies a and b modulo the reflected ECMA polynomial; bit 63 is x^0.
func mulModP(a, b uint64) uint64 {
	var p uint64
	for m := uint64(1) << 63; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ crc64.ECMA
		} else {
			b >>= 1
		}
	}
	return p
}

// xPow8n returns x^(8n) modulo the polynomial, by squaring: x^(2^k) for k = 3, 4, ….
func xPow8n(n int64) uint64 {
	sq := uint64(1) << 62 // x^1
	for range 3 {
		sq = mulModP(sq, sq) // x^2, x^4, x^8
	}
	p := uint64(1) << 63 // x^0
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			p = mulModP(sq, p)
		}
		sq = mulModP(sq, sq)
	}
	return p
}
