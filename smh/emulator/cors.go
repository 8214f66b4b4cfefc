package emulator

import (
	"net/http"
)

// CORS: the headers both hosts send, so that a page on another origin can
// call them and read the answers' headers, and their preflight answers.

const (
	cosExpose = "ETag, x-cos-hash-crc64ecma, x-cos-request-id, x-smh-request-id, Date, Content-Length, Retry-After, " +
		"Content-Range, Accept-Ranges, Content-Disposition, Last-Modified"
	apiExpose = cosExpose + ", Location, x-smh-size, x-smh-crc64, x-smh-etag, x-smh-type, x-smh-creation-time, " +
		"x-smh-modification-time, x-smh-content-type"
	// allowHeaders answers a preflight that names no headers.
	allowHeaders = "authorization, content-type, x-cos-security-token, x-cos-traffic-limit, x-cos-sdk-retry"
)

// setCORS adds the headers every answer carries, as a bucket with the recommended CORS rule would.
func (e *Emulator) setCORS(w http.ResponseWriter, r *http.Request, cos bool) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = "*"
	} else {
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Allow-Origin", origin)
	switch {
	case !cos:
		h.Set("Access-Control-Expose-Headers", apiExpose)
	case !e.hideExp.Load():
		h.Set("Access-Control-Expose-Headers", cosExpose)
	}
}

// preflight answers OPTIONS: every method the uploads use, the requested headers (AllowedHeader "*").
func (e *Emulator) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "PUT, GET, POST, DELETE, HEAD")
	req := r.Header.Get("Access-Control-Request-Headers")
	if req == "" {
		req = allowHeaders
	}
	h.Set("Access-Control-Allow-Headers", req)
	h.Set("Access-Control-Max-Age", "86400")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Content-Length", "0")
	e.stamp(w)
	w.WriteHeader(http.StatusOK)
}
