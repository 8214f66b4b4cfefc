// Package purehash provides MD5 and SHA-256 for the browser build without
// crypto/md5 and crypto/sha256. Those import crypto/internal/fips140only and
// crypto/internal/boring, which link the FIPS 140 module's self-tests, DRBG,
// AES, GCM, SHA-3, SHA-512 and HMAC into smh.wasm: about 190 KB raw and
// 50 KB gzip that the upload never runs. The code here is the Go standard
// library's own portable implementation (Go 1.26.8, the code js/wasm runs
// anyway: it has no assembly there), copied under Go's licence (LICENSE)
// with the FIPS hooks, SHA-224 and state marshalling left out.
//
// NewMD5 and NewSHA256 return the copies on js/wasm and crypto/md5 and
// crypto/sha256 elsewhere, whose assembly is faster; the tests check the
// copies against crypto/* on every length around the block boundaries.
package purehash
