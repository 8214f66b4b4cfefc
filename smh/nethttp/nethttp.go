// Package nethttp is the native transport of package smh: API calls and
// part uploads over net/http. The browser build never links it (net/http
// would add about 7 MB to the .wasm).
package nethttp

import (
	"bytes"
	"context"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"

	"github.com/smhupload/smh-upload/smh"
)

// maxErrorBody bounds what is read of a part answer: success has none, errors are small XML.
const maxErrorBody = 64 << 10

// Transport implements smh.Transport with an *http.Client.
type Transport struct {
	// Client defaults to a client without an overall timeout: parts are
	// large, and the engine's stall watchdog catches a dead connection.
	Client *http.Client
	// Forms makes the engine send small files as form uploads
	// (smh.FormPutter), as the browser build does. Off by default: a form
	// saves CORS preflights, which a native client never sends.
	Forms bool
}

// PutsForms reports whether small files go as form uploads (Forms).
func (t *Transport) PutsForms() bool { return t.Forms }

// New returns a Transport over http.DefaultTransport.
func New() *Transport { return &Transport{Client: &http.Client{}} }

func (t *Transport) client() *http.Client {
	if t.Client != nil {
		return t.Client
	}
	return http.DefaultClient
}

// Do sends an API call and reads the whole answer.
func (t *Transport) Do(ctx context.Context, r *smh.Request) (*smh.Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := t.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &smh.Response{StatusCode: resp.StatusCode, Header: header(resp.Header), Body: b}, nil
}

// Put streams [Offset, Offset+Length) of a Body that is an io.ReaderAt,
// hashing it on the way, so each attempt reads the part once from a fresh
// section reader.
func (t *Transport) Put(ctx context.Context, r *smh.PutRequest) (*smh.PutResponse, error) {
	ra, ok := r.Body.(io.ReaderAt)
	if !ok {
		return nil, fmt.Errorf("nethttp: body %T is not an io.ReaderAt", r.Body)
	}
	cr := &countingReader{r: io.NewSectionReader(ra, r.Offset, r.Length), progress: r.Progress}
	if !r.NoHash {
		cr.crc = smh.NewCRC64()
	}
	var body io.Reader = cr
	if r.Length == 0 {
		body = http.NoBody
	}
	method, length := http.MethodPut, r.Length
	var contentType string
	if r.Form != nil {
		method = http.MethodPost
		body, length, contentType = formBody(r.Form, cr, r.Length)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = length
	if r.Form != nil {
		req.Header.Set("Content-Type", contentType)
	} else {
		for k, v := range r.Header {
			req.Header.Set(k, v)
		}
	}
	resp, err := t.client().Do(req)
	if _, _, rerr := cr.result(); rerr != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, fmt.Errorf("%w: %v", smh.ErrSourceRead, rerr)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
	crc, n, _ := cr.result()
	return &smh.PutResponse{
		Response: smh.Response{StatusCode: resp.StatusCode, Header: header(resp.Header), Body: b},
		CRC64:    crc,
		Hashed:   !r.NoHash && n == r.Length,
	}, nil
}

// formBody streams a form upload: the fields, then file (n bytes) as the
// field "file", last as COS requires. It returns the body, its length and
// its Content-Type.
func formBody(fields []smh.FormField, file io.Reader, n int64) (io.Reader, int64, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		_ = w.WriteField(f.Name, f.Value) // writes to a bytes.Buffer cannot fail
	}
	_, _ = w.CreateFormFile("file", "blob")
	head := b.Len()
	_ = w.Close() // the closing boundary, after the file's bytes
	all := b.Bytes()
	return io.MultiReader(bytes.NewReader(all[:head]), file, bytes.NewReader(all[head:])),
		int64(len(all)) + n, w.FormDataContentType()
}

func header(h http.Header) smh.Header {
	out := make(smh.Header, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

// countingReader hashes and counts what the HTTP client reads.
type countingReader struct {
	r        io.Reader
	crc      hash.Hash64
	progress func(int64)

	// The HTTP client reads on its own goroutine, which may outlive Do when
	// the server answers early; the mutex makes the results safe to read.
	mu      sync.Mutex
	n       int64
	readErr error
}

// result returns the CRC and count of the bytes read, and any read error.
func (c *countingReader) result() (crc uint64, n int64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crc == nil {
		return 0, c.n, c.readErr
	}
	return c.crc.Sum64(), c.n, c.readErr
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.mu.Lock()
	if err != nil && err != io.EOF {
		c.readErr = err // net/http does not promise to return the body's error
	}
	if c.crc != nil {
		_, _ = c.crc.Write(p[:k])
	}
	c.n += int64(k)
	sent := c.n
	c.mu.Unlock()
	if k > 0 && c.progress != nil {
		c.progress(sent)
	}
	return k, err
}
