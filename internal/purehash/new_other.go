//go:build !js

package purehash

import (
	"crypto/md5"
	"crypto/sha256"
	"hash"
)

// NewMD5 returns a hash.Hash computing the MD5 checksum.
func NewMD5() hash.Hash { return md5.New() }

// NewSHA256 returns a hash.Hash computing the SHA-256 checksum.
func NewSHA256() hash.Hash { return sha256.New() }
