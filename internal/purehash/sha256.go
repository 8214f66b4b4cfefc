// Copyright 2009 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Copied from Go 1.26.8's crypto/internal/fips140/sha256/sha256.go: the
// SHA-256 digest without SHA-224, the FIPS service indicator and the state
// marshalling.

package purehash

import (
	"encoding/binary"
	"hash"
)

// SHA256Size is the size of a SHA-256 checksum in bytes.
const SHA256Size = 32

const sha256BlockSize = 64

const (
	sha256Init0 = 0x6A09E667
	sha256Init1 = 0xBB67AE85
	sha256Init2 = 0x3C6EF372
	sha256Init3 = 0xA54FF53A
	sha256Init4 = 0x510E527F
	sha256Init5 = 0x9B05688C
	sha256Init6 = 0x1F83D9AB
	sha256Init7 = 0x5BE0CD19
)

// sha256Digest represents the partial evaluation of a checksum.
type sha256Digest struct {
	h   [8]uint32
	x   [sha256BlockSize]byte
	nx  int
	len uint64
}

func (d *sha256Digest) Reset() {
	d.h[0] = sha256Init0
	d.h[1] = sha256Init1
	d.h[2] = sha256Init2
	d.h[3] = sha256Init3
	d.h[4] = sha256Init4
	d.h[5] = sha256Init5
	d.h[6] = sha256Init6
	d.h[7] = sha256Init7
	d.nx = 0
	d.len = 0
}

// newSHA256 returns the portable SHA-256, which NewSHA256 returns on js/wasm.
func newSHA256() hash.Hash {
	d := new(sha256Digest)
	d.Reset()
	return d
}

func (d *sha256Digest) Size() int { return SHA256Size }

func (d *sha256Digest) BlockSize() int { return sha256BlockSize }

func (d *sha256Digest) Write(p []byte) (nn int, err error) {
	nn = len(p)
	d.len += uint64(nn)
	if d.nx > 0 {
		n := copy(d.x[d.nx:], p)
		d.nx += n
		if d.nx == sha256BlockSize {
			sha256BlockGeneric(d, d.x[:])
			d.nx = 0
		}
		p = p[n:]
	}
	if len(p) >= sha256BlockSize {
		n := len(p) &^ (sha256BlockSize - 1)
		sha256BlockGeneric(d, p[:n])
		p = p[n:]
	}
	if len(p) > 0 {
		d.nx = copy(d.x[:], p)
	}
	return
}

func (d *sha256Digest) Sum(in []byte) []byte {
	// Make a copy of d so that caller can keep writing and summing.
	d0 := *d
	hash := d0.checkSum()
	return append(in, hash[:]...)
}

func (d *sha256Digest) checkSum() [SHA256Size]byte {
	len := d.len
	// Padding. Add a 1 bit and 0 bits until 56 bytes mod 64.
	var tmp [64 + 8]byte // padding + length buffer
	tmp[0] = 0x80
	var t uint64
	if len%64 < 56 {
		t = 56 - len%64
	} else {
		t = 64 + 56 - len%64
	}

	// Length in bits.
	len <<= 3
	padlen := tmp[:t+8]
	binary.BigEndian.PutUint64(padlen[t+0:], len)
	d.Write(padlen)

	if d.nx != 0 {
		panic("d.nx != 0")
	}

	var digest [SHA256Size]byte
	binary.BigEndian.PutUint32(digest[0:], d.h[0])
	binary.BigEndian.PutUint32(digest[4:], d.h[1])
	binary.BigEndian.PutUint32(digest[8:], d.h[2])
	binary.BigEndian.PutUint32(digest[12:], d.h[3])
	binary.BigEndian.PutUint32(digest[16:], d.h[4])
	binary.BigEndian.PutUint32(digest[20:], d.h[5])
	binary.BigEndian.PutUint32(digest[24:], d.h[6])
	binary.BigEndian.PutUint32(digest[28:], d.h[7])
	return digest
}
