// Copyright 2009 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Copied from Go 1.26.8's crypto/md5/md5.go: the digest without the
// FIPS-only checks, the hash registration and the state marshalling.

package purehash

import (
	"encoding/binary"
	"hash"
)

// MD5Size is the size of an MD5 checksum in bytes.
const MD5Size = 16

const md5BlockSize = 64

const (
	md5Init0 = 0x67452301
	md5Init1 = 0xEFCDAB89
	md5Init2 = 0x98BADCFE
	md5Init3 = 0x10325476
)

// md5Digest represents the partial evaluation of a checksum.
type md5Digest struct {
	s   [4]uint32
	x   [md5BlockSize]byte
	nx  int
	len uint64
}

func (d *md5Digest) Reset() {
	d.s[0] = md5Init0
	d.s[1] = md5Init1
	d.s[2] = md5Init2
	d.s[3] = md5Init3
	d.nx = 0
	d.len = 0
}

// newMD5 returns the portable MD5, which NewMD5 returns on js/wasm.
func newMD5() hash.Hash {
	d := new(md5Digest)
	d.Reset()
	return d
}

func (d *md5Digest) Size() int { return MD5Size }

func (d *md5Digest) BlockSize() int { return md5BlockSize }

func (d *md5Digest) Write(p []byte) (nn int, err error) {
	nn = len(p)
	d.len += uint64(nn)
	if d.nx > 0 {
		n := copy(d.x[d.nx:], p)
		d.nx += n
		if d.nx == md5BlockSize {
			md5BlockGeneric(d, d.x[:])
			d.nx = 0
		}
		p = p[n:]
	}
	if len(p) >= md5BlockSize {
		n := len(p) &^ (md5BlockSize - 1)
		md5BlockGeneric(d, p[:n])
		p = p[n:]
	}
	if len(p) > 0 {
		d.nx = copy(d.x[:], p)
	}
	return
}

func (d *md5Digest) Sum(in []byte) []byte {
	// Make a copy of d so that caller can keep writing and summing.
	d0 := *d
	hash := d0.checkSum()
	return append(in, hash[:]...)
}

func (d *md5Digest) checkSum() [MD5Size]byte {
	// Append 0x80 to the end of the message and then append zeros
	// until the length is a multiple of 56 bytes. Finally append
	// 8 bytes representing the message length in bits.
	//
	// 1 byte end marker :: 0-63 padding bytes :: 8 byte length
	tmp := [1 + 63 + 8]byte{0x80}
	pad := (55 - d.len) % 64                             // calculate number of padding bytes
	binary.LittleEndian.PutUint64(tmp[1+pad:], d.len<<3) // append length in bits
	d.Write(tmp[:1+pad+8])

	// The previous write ensures that a whole number of
	// blocks (i.e. a multiple of 64 bytes) have been hashed.
	if d.nx != 0 {
		panic("d.nx != 0")
	}

	var digest [MD5Size]byte
	binary.LittleEndian.PutUint32(digest[0:], d.s[0])
	binary.LittleEndian.PutUint32(digest[4:], d.s[1])
	binary.LittleEndian.PutUint32(digest[8:], d.s[2])
	binary.LittleEndian.PutUint32(digest[12:], d.s[3])
	return digest
}
