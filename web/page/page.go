// Package page holds the demo page: its HTML, CSS and script from the
// repository, and the browser module (smh.wasm, wasm_exec.js,
// smh-upload.js) that `make wasm` copies into site/ before a build.
package page

import (
	"embed"
	"io/fs"
)

//go:embed site
var files embed.FS

// FS returns the page's files, index.html at its root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "site")
	if err != nil {
		panic(err) // "site" is embedded above
	}
	return sub
}
