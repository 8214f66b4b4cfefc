package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
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
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	h := smh.Header{}
	for k, v := range rec.Header() {
		h[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return &smh.Response{StatusCode: rec.Code, Header: h, Body: rec.Body.Bytes()}, nil
}
