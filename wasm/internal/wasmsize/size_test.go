//go:build !js

package wasmsize_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/wasm/internal/wasmsize"
)

func str(s string) []byte { return append([]byte{byte(len(s))}, s...) }

func section(id byte, content ...[]byte) []byte {
	var c []byte
	for _, p := range content {
		c = append(c, p...)
	}
	return append([]byte{id, byte(len(c))}, c...)
}

// A module with one imported function and two bodies (3 and 5 bytes), named
// in its name section: each body counts for its package, after the import.
func TestAnalyze(t *testing.T) {
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, section(2, []byte{1}, str("gojs"), str("x"), []byte{0, 0})...)
	b = append(b, section(10, []byte{2}, []byte{3, 0, 0, 0x0b}, []byte{5, 0, 0, 0, 0, 0x0b})...)
	b = append(b, section(11, []byte{0, 0, 0, 0})...)
	names := append([]byte{2}, append([]byte{1}, str("github.com_a_b.F")...)...)
	names = append(names, append([]byte{2}, str("runtime.g")...)...)
	b = append(b, section(0, str("name"), []byte{1, byte(len(names))}, names)...)

	rep, err := wasmsize.Analyze(b)
	require.NoError(t, err)
	assert.Equal(t, len(b), rep.Total)
	assert.Equal(t, 4, rep.Data)
	assert.Equal(t, []wasmsize.Package{{Name: "runtime", Bytes: 5, Functions: 1}, {Name: "github.com_a_b", Bytes: 3, Functions: 1}}, rep.Packages)
	assert.Contains(t, rep.Markdown(10), "| `runtime` | 5 |")

	_, err = wasmsize.Analyze([]byte("not wasm"))
	assert.Error(t, err)
	_, err = wasmsize.Analyze(b[:len(b)-3])
	assert.Error(t, err, "a truncated section")
}

func TestPackageOf(t *testing.T) {
	for sym, want := range map[string]string{
		"github.com_norunners_vert.ValueOf":     "github.com_norunners_vert",
		"golang.org_x_sync_semaphore.__W_.Acq":  "golang.org_x_sync_semaphore",
		"main.__module_.upload":                 "main",
		"main.newAPI.__module_.method.func11":   "main",
		"runtime.mallocgc":                      "runtime",
		"encoding_json.__decodeState_.value":    "encoding_json",
		"slices.pdqsortCmpFunc[go.shape.int]":   "slices",
		"type_.eq.github.com_a_b.Error":         "(generated type equality and hash)",
		"github.com/smhupload/smh-upload/smh.F": "github.com/smhupload/smh-upload/smh",
		"":                                      "(unnamed)",
	} {
		assert.Equal(t, want, wasmsize.PackageOf(sym), sym)
	}
}
