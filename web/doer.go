package web

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/smhupload/smh-upload/smh"
)

// handlerDoer sends smh API calls straight into an http.Handler, so the
// broker talks to the embedded emulator through the same TokenClient, and
// the same wire format, as to SMH.
type handlerDoer struct{ h http.Handler }

func (d handlerDoer) Do(ctx context.Context, r *smh.Request) (*smh.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	d.h.ServeHTTP(rec, req)
	h := smh.Header{}
	for k, v := range rec.header {
		h[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return &smh.Response{StatusCode: rec.status, Header: h, Body: rec.body.Bytes()}, nil
}

// recorder is the least http.ResponseWriter that captures an answer.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}
