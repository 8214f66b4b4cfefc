//go:build !js

package bench

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Each contestant's page gets the preload hints that the README asks of a
// page using it, and nothing else; a page without ?cfg= is served as is.
func TestPagePreloads(t *testing.T) {
	index := []byte(`<head><script type="module" src="bench.js"></script></head>`)
	get := func(cfg string) string { return string(withPreloads(index, cfg)) }
	mod := get(`{"kind":"module","moduleBase":"/module-2"}`)
	assert.Contains(t, mod, `<link rel="modulepreload" href="/module-2/smh-upload.js">`)
	assert.Contains(t, mod, `<link rel="modulepreload" href="/module-2/smh-upload-run.js">`)
	assert.Contains(t, mod, `<link rel="preload" href="/module-2/smh.wasm" as="fetch" type="application/wasm" crossorigin>`)
	assert.Less(t, strings.Index(mod, "preload"), strings.Index(mod, "<script"), "hints come before the page's script")
	assert.Contains(t, get(`{"kind":"cos","cosSDK":"/cos/cos-js-sdk-v5.min.js"}`), `<link rel="preload" href="/cos/cos-js-sdk-v5.min.js" as="script">`)
	assert.Equal(t, string(index), get(`{"kind":"xhr"}`))
	assert.Equal(t, string(index), get(""))
	assert.NotContains(t, get(`{"kind":"module","moduleBase":"\"><script>x</script>"}`), "<script>x", "the base is escaped")
}
