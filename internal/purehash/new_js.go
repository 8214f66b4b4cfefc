//go:build js

package purehash

import "hash"

// NewMD5 returns a hash.Hash computing the MD5 checksum.
func NewMD5() hash.Hash { return newMD5() }

// NewSHA256 returns a hash.Hash computing the SHA-256 checksum.
func NewSHA256() hash.Hash { return newSHA256() }
