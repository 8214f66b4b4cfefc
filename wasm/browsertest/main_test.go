//go:build !js

package main

import (
	"bytes"
	"hash/crc64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/smhupload/smh-upload/smh"
)

func TestFilterDropsOnlyTheKnownProtocolLines(t *testing.T) {
	in := strings.Join([]string{
		"=== RUN   TestX",
		"2026/11/25 17:00:00 ERROR: could not unmarshal event: unknown IPAddressSpace value: Loopback",
		"could not unmarshal event: parse error: unknown IPAddressSpace value: Local near offset 1",
		"2026/11/25 17:00:00 ERROR: could not unmarshal event: unknown PrivateNetworkRequestPolicy value: X",
		"--- FAIL: TestX (0.00s)",
		"    x_test.go:1: could not unmarshal event: unknown IPAddressSpace value: Loopback is what the test printed",
		"FAIL",
	}, "\n") + "\n"
	var out bytes.Buffer
	filter(strings.NewReader(in), &out)
	assert.Equal(t, strings.Join([]string{
		"=== RUN   TestX",
		"2026/11/25 17:00:00 ERROR: could not unmarshal event: unknown PrivateNetworkRequestPolicy value: X",
		"--- FAIL: TestX (0.00s)",
		"    x_test.go:1: could not unmarshal event: unknown IPAddressSpace value: Loopback is what the test printed",
		"FAIL",
	}, "\n")+"\n", out.String())
}

func TestGeneratedStreamRepeatsWithItsPeriod(t *testing.T) {
	size := int64(period + 3<<20)
	b := make([]byte, size)
	x := uint32(9)
	for i := range b {
		if i%period == 0 {
			x = 9
		}
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	for _, n := range []int64{0, 1, 1 << 20, period, size} {
		assert.Equal(t, crc64.Checksum(b[:n], smh.ECMATable), generatedCRC(n, 9), "size %d", n)
	}
}

func TestChildEnvKeepsWhatGoNeedsAndFitsTheLimit(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("SOME_CI_SECRET_LOOKING_VARIABLE", strings.Repeat("x", 9000))
	env := childEnv("/tmp/w", "http://127.0.0.1:1")
	joined := strings.Join(env, "\n")
	assert.Contains(t, env, "GOOS=js")
	assert.Contains(t, env, "GOARCH=wasm")
	assert.Contains(t, env, "GOFLAGS=-mod=mod")
	assert.Contains(t, env, "SMH_CONTROL_URL=http://127.0.0.1:1")
	assert.True(t, strings.HasPrefix(env[0], "PATH=/tmp/w:"))
	assert.NotContains(t, joined, "SOME_CI_SECRET_LOOKING_VARIABLE")
}
