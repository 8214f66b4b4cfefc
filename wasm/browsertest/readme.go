//go:build !js

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// The browser fault matrix (wasm/matrix_test.go) runs in the page, which
// cannot write files: it posts its table here, and the harness writes it
// into the README named by SMH_MATRIX_README, between these markers. The
// variable reaches the page too (childEnv keeps SMH_*), which is how the test
// knows to post; the path the harness writes is only ever its own.
const (
	matrixBegin = "<!-- browser-matrix:begin -->"
	matrixEnd   = "<!-- browser-matrix:end -->"
)

// writeReadme is POST /matrix-readme {"section": markdown}: the markdown
// replaces the README's browser-matrix section.
func (c *control) writeReadme(w http.ResponseWriter, r *http.Request) {
	if c.readme == "" {
		http.Error(w, "the harness was started without SMH_MATRIX_README", http.StatusConflict)
		return
	}
	var req struct{ Section string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.Section == "" {
		http.Error(w, `want {"section": markdown}`, http.StatusBadRequest)
		return
	}
	if err := replaceSection(c.readme, req.Section); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	reply(w, c.readme)
}

// replaceSection puts body between the browser-matrix markers of the file at
// path, which must have them in order.
func replaceSection(path, body string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, matrixBegin), strings.Index(s, matrixEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s section", path, matrixBegin, matrixEnd)
	}
	body = strings.Trim(body, "\n")
	return os.WriteFile(path, []byte(s[:i]+matrixBegin+"\n"+body+"\n"+s[j:]), 0o644)
}
