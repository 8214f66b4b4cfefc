//go:build !js

// Package wasmsize attributes the bytes of a Go-built .wasm to Go packages,
// from the binary's own tables: each function body in the code section, by
// the name the name section gives it (Go keeps that section under -s -w).
// It reads the WebAssembly binary format, nothing else.
package wasmsize

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Package is the bytes of one Go package's function bodies.
type Package struct {
	Name      string
	Bytes     int
	Functions int
}

// Report is a .wasm by package.
type Report struct {
	Total    int       // the file
	Code     int       // the code section's payload
	Data     int       // the data section's payload (not attributed: Go's data has no names)
	Packages []Package // by Bytes, largest first
	Funcs    []Func    // every function body, largest first
}

// Func is one function body.
type Func struct {
	Name  string
	Bytes int
}

var errFormat = errors.New("wasmsize: not a WebAssembly binary")

// Analyze reads a .wasm.
func Analyze(b []byte) (*Report, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		return nil, errFormat
	}
	r := &reader{b: b, off: 8}
	rep := &Report{Total: len(b)}
	imported := 0
	var bodies []int
	names := map[int]string{}
	for r.off < len(b) {
		id := r.byte()
		size := r.uleb()
		end := r.off + size
		if r.err != nil || end > len(b) {
			return nil, fmt.Errorf("%w: a section runs past the end", errFormat)
		}
		sec := &reader{b: b[:end], off: r.off}
		switch id {
		case 0: // custom: only "name" matters
			if sec.name() == "name" {
				readNames(sec, names)
			}
		case 2: // imports: imported functions take the first function indices
			for n := sec.uleb(); n > 0 && sec.err == nil; n-- {
				sec.name()
				sec.name()
				switch sec.byte() {
				case 0:
					sec.uleb()
					imported++
				case 1:
					sec.byte()
					sec.limits()
				case 2:
					sec.limits()
				case 3:
					sec.byte()
					sec.byte()
				}
			}
		case 10: // code
			rep.Code = size
			for n := sec.uleb(); n > 0 && sec.err == nil; n-- {
				l := sec.uleb()
				bodies = append(bodies, l)
				sec.off += l
			}
		case 11:
			rep.Data = size
		}
		if sec.err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", errFormat, id, sec.err)
		}
		r.off = end
	}
	byPkg := map[string]*Package{}
	for i, l := range bodies {
		rep.Funcs = append(rep.Funcs, Func{Name: names[imported+i], Bytes: l})
		p := PackageOf(names[imported+i])
		if byPkg[p] == nil {
			byPkg[p] = &Package{Name: p}
		}
		byPkg[p].Bytes += l
		byPkg[p].Functions++
	}
	for _, p := range byPkg {
		rep.Packages = append(rep.Packages, *p)
	}
	sort.Slice(rep.Packages, func(i, j int) bool {
		a, b := rep.Packages[i], rep.Packages[j]
		return a.Bytes > b.Bytes || a.Bytes == b.Bytes && a.Name < b.Name
	})
	sort.SliceStable(rep.Funcs, func(i, j int) bool { return rep.Funcs[i].Bytes > rep.Funcs[j].Bytes })
	return rep, nil
}

// readNames reads the function-names subsection (1) of a name section.
func readNames(r *reader, names map[int]string) {
	for r.off < len(r.b) && r.err == nil {
		id := r.byte()
		size := r.uleb()
		end := r.off + size
		if id == 1 {
			for n := r.uleb(); n > 0 && r.err == nil; n-- {
				i := r.uleb()
				names[i] = r.name()
			}
		}
		r.off = end
	}
}

// PackageOf is the Go package of a function's name, as the Go linker
// writes it into a .wasm's name section, with '/' (and '-') as '_':
// "github.com_norunners_vert.ValueOf" → "github.com_norunners_vert",
// "main.__module_.upload" → "main", "runtime.mallocgc" → "runtime". The
// generated equality and hash functions ("type_.eq.…") are one group.
func PackageOf(sym string) string {
	switch {
	case sym == "":
		return "(unnamed)"
	case strings.HasPrefix(sym, "type_.") || strings.HasPrefix(sym, "type:."):
		return "(generated type equality and hash)"
	}
	// Generic instantiations carry [...] with dots inside: cut them first.
	if i := strings.IndexByte(sym, '['); i >= 0 {
		sym = sym[:i]
	}
	start := 0
	if s := strings.LastIndexByte(sym, '/'); s >= 0 { // a native symbol's path
		start = s
	} else if d, u := strings.IndexByte(sym, '.'), strings.IndexByte(sym, '_'); d > 0 && u > d && isTLD(sym[d+1:u]) {
		start = u // a module path's domain ("github.com"): its dot does not end the package
	}
	if dot := strings.IndexByte(sym[start:], '.'); dot >= 0 {
		return sym[:start+dot]
	}
	return sym
}

// isTLD reports whether s looks like a domain's last label: 2 to 4 lowercase letters.
func isTLD(s string) bool {
	if len(s) < 2 || len(s) > 4 {
		return false
	}
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// Markdown writes the report as the README's table: the largest packages,
// the rest summed in one row.
func (rep *Report) Markdown(top int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| package | code bytes | share of code | functions |\n|---|---|---|---|\n")
	rest, restN, restF := 0, 0, 0
	for i, p := range rep.Packages {
		if i >= top {
			rest, restN, restF = rest+p.Bytes, restN+1, restF+p.Functions
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %d | %.1f %% | %d |\n", p.Name, p.Bytes, 100*float64(p.Bytes)/float64(max(rep.Code, 1)), p.Functions)
	}
	if restN > 0 {
		fmt.Fprintf(&b, "| %d more packages | %d | %.1f %% | %d |\n", restN, rest, 100*float64(rest)/float64(max(rep.Code, 1)), restF)
	}
	fmt.Fprintf(&b, "\nThe file: %d bytes; code section %d, data section %d, the rest %d (names, types, imports).\n",
		rep.Total, rep.Code, rep.Data, rep.Total-rep.Code-rep.Data)
	return b.String()
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		r.err = errors.New("unexpected end")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) uleb() int {
	var v, shift uint
	for {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint(c&0x7f) << shift
		if c&0x80 == 0 {
			return int(v)
		}
		shift += 7
		if shift > 35 {
			r.err = errors.New("LEB128 too long")
			return 0
		}
	}
}

func (r *reader) name() string {
	n := r.uleb()
	if r.err != nil || r.off+n > len(r.b) {
		r.err = errors.New("name runs past the end")
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.uleb()
	}
	r.uleb()
}
