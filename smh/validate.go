package smh

import (
	"strings"
	"unicode/utf8"
)

// Limits of SMH and the COS multipart API underneath it.
const (
	MinPartSize     int64 = 1 << 20                // every part but the last
	MaxPartSize     int64 = 5 << 30                // one COS part
	MaxParts              = 10000                  // parts of one upload
	MaxFileSize           = MaxPartSize * MaxParts // 50000 GiB
	DefaultPartSize int64 = 8 << 20                // before growing to fit MaxParts
	DefaultParallel       = 4                      // parts in flight
	SimpleThreshold int64 = MinPartSize            // smaller files take one simple upload
	maxNameBytes          = 255                    // SMH FileNameLengthExceed
)

// FormThreshold: smaller files take a form upload when the transport sends
// forms (FormPutter). A browser reports no upload progress for a form (a
// progress listener would bring back the preflight that the form saves), so
// the stall watchdog sees none either: under 256 KiB even a 40 kbit/s link
// sends the file within the default StallTimeout.
const FormThreshold int64 = 256 << 10

// CleanPath checks an SMH target path and returns it without leading or
// trailing slashes. SMH paths are slash-separated names; empty, "." and ".."
// segments, control characters and over-long names are refused here, before
// any request, with codes EmptyPath or IllegalPath.
func CleanPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", invalid(CodeEmptyPath, "path is empty")
	}
	if !utf8.ValidString(p) {
		return "", invalid(CodeIllegalPath, "path is not valid UTF-8")
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return "", invalid(CodeIllegalPath, "path %q has an empty segment", p)
		case seg == "." || seg == "..":
			return "", invalid(CodeIllegalPath, "path %q has a %q segment", p, seg)
		case len(seg) > maxNameBytes:
			return "", invalid(CodeIllegalPath, "path segment is %d bytes long; SMH allows %d", len(seg), maxNameBytes)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f || r == '\\' {
				return "", invalid(CodeIllegalPath, "path %q has the illegal character %q", p, r)
			}
		}
	}
	return p, nil
}

// PlanPartSize returns the part size for a file: want (DefaultPartSize when
// 0), grown to a whole number of MiB so the file needs at most MaxParts parts.
func PlanPartSize(size, want int64) (int64, error) {
	if size < 0 || size > MaxFileSize {
		return 0, invalid(CodeInvalidSize, "size %d is outside 0..%d", size, MaxFileSize)
	}
	if want == 0 {
		want = DefaultPartSize
	}
	if want < MinPartSize || want > MaxPartSize {
		return 0, invalid(CodeInvalidPartSize, "part size %d is outside %d..%d", want, MinPartSize, MaxPartSize)
	}
	if need := (size + MaxParts - 1) / MaxParts; need > want {
		want = (need + MinPartSize - 1) / MinPartSize * MinPartSize
		want = min(want, MaxPartSize)
	}
	return want, nil
}

// partCount is the number of parts of size bytes cut at partSize; at least 1.
func partCount(size, partSize int64) int {
	if size == 0 {
		return 1
	}
	return int((size + partSize - 1) / partSize)
}

// partRange returns the offset and length of 1-based part n.
func partRange(size, partSize int64, n int) (off, length int64) {
	off = int64(n-1) * partSize
	return off, min(partSize, size-off)
}
