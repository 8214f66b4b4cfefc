//go:build !js

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReproduce(t *testing.T) {
	// Only what make passes: the make command, with the values the run had.
	assert.Equal(t, "make bench-browser BENCH_SIZE=256M BENCH_ROUNDS=3 BENCH_STARTUP=5 BENCH_LINK=wan BENCH_ONLY=startup",
		reproduce(map[string]string{"link": "wan", "only": "startup", "json": "/tmp/x.json"}, "256M", 3, 5, "wan", "startup"))
	assert.Equal(t, "make bench-browser BENCH_SIZE=1G BENCH_ROUNDS=2 BENCH_STARTUP=0",
		reproduce(map[string]string{}, "1G", 2, 0, "", ""))

	// A flag make does not pass: smh-bench's own command, every flag that changes what runs, sorted; no
	// output paths, no machine paths.
	set := map[string]string{"only": "startup", "startup": "3", "link": "wan", "variants": "imm=wasm/dist",
		"startup-immutable": "imm", "md": "/tmp/x.md", "chromium": "/usr/bin/chromium", "dist": "wasm/dist"}
	assert.Equal(t, "go run ./web/bench/cmd/smh-bench -dist=wasm/dist -link=wan -only=startup -startup=3 -startup-immutable=imm -variants=imm=wasm/dist",
		reproduce(set, "256M", 3, 3, "wan", "startup"))
}
