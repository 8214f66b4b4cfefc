package smh

import (
	"context"
	"io"
	"strings"

	"github.com/smhupload/smh-upload/internal/purehash"
)

// Header holds HTTP headers with lower-case names and one value each. The
// module defines its own so the browser build never links net/http.
type Header map[string]string

// Get returns the value of name, case-insensitively.
func (h Header) Get(name string) string { return h[strings.ToLower(name)] }

// Set stores value under the lower-cased name.
func (h Header) Set(name, value string) { h[strings.ToLower(name)] = value }

// Request is one small SMH API call. Bodies are JSON and small.
type Request struct {
	Method string
	URL    string
	Header Header
	Body   []byte
}

// Response is the answer to a Request or a PutRequest.
type Response struct {
	StatusCode int
	Header     Header
	Body       []byte // the whole body for API calls; at most a small error body for puts
}

// Doer sends SMH API calls. A transport error (no response) is returned as
// err; any HTTP status is a Response.
type Doer interface {
	Do(ctx context.Context, req *Request) (*Response, error)
}

// PutRequest sends Length bytes of Body from Offset to URL with Header. The
// transport decides how to read Body: natively from an io.ReaderAt, in the
// browser by slicing a Blob, so part bytes need not pass through Go memory.
type PutRequest struct {
	URL    string
	Header Header
	Body   Body
	Offset int64
	Length int64
	// Progress, when set, is called with the bytes of this attempt sent so far.
	Progress func(sent int64)
	// NoHash says the engine will not check the part's CRC-64
	// (Options.DisableIntegrityCheck), so a transport need not compute it.
	NoHash bool
	// Form, when set, makes the request a form upload: a POST to URL of
	// multipart/form-data with these fields, in order, then the body as
	// the field "file" (COS requires it last), and no Header. Only a
	// FormPutter is sent one.
	Form []FormField
}

// FormField is one field of a form upload.
type FormField struct{ Name, Value string }

// FormPutter is a PartPutter that sends form uploads (PutRequest.Form) as
// well. For a small file the engine then prefers a form upload to a simple
// one: in a browser its begin and its POST are CORS simple requests, with
// no preflight, which saves two of a small file's five requests.
type FormPutter interface {
	PartPutter
	PutsForms() bool
}

// PutResponse is the storage host's answer to a PutRequest.
type PutResponse struct {
	Response
	// CRC64 is the CRC-64/ECMA of the bytes actually sent, valid when Hashed.
	// Transports hash while they send so the part is read once; when they
	// cannot, the engine asks Body.Sum.
	CRC64  uint64
	Hashed bool
}

// PartPutter sends part bodies to the storage host.
type PartPutter interface {
	Put(ctx context.Context, req *PutRequest) (*PutResponse, error)
}

// Transport is what a platform provides: API calls and part uploads.
type Transport interface {
	Doer
	PartPutter
}

// Body is the source file.
type Body interface {
	Size() int64
	// Sum reads [off, off+n) and returns its CRC-64/ECMA and MD5. The engine
	// uses it to check parts a previous run uploaded, and when a transport
	// did not hash what it sent.
	Sum(ctx context.Context, off, n int64) (Sum, error)
}

// Sum is the checksum pair of a byte range.
type Sum struct {
	CRC64 uint64
	MD5   [purehash.MD5Size]byte
}

// ReaderAtBody is a Body over an io.ReaderAt, such as an *os.File or a
// *bytes.Reader. It is also an io.ReaderAt, which native transports read.
type ReaderAtBody struct {
	r    io.ReaderAt
	size int64
}

// NewReaderAtBody returns a Body of size bytes read from r.
func NewReaderAtBody(r io.ReaderAt, size int64) *ReaderAtBody {
	return &ReaderAtBody{r: r, size: size}
}

// Size returns the body's length.
func (b *ReaderAtBody) Size() int64 { return b.size }

// ReadAt reads from the underlying reader.
func (b *ReaderAtBody) ReadAt(p []byte, off int64) (int, error) { return b.r.ReadAt(p, off) }

// Sum hashes [off, off+n) in 1 MiB steps, checking ctx between them.
func (b *ReaderAtBody) Sum(ctx context.Context, off, n int64) (Sum, error) {
	c := NewCRC64()
	m := purehash.NewMD5()
	w := io.MultiWriter(c, m)
	buf := make([]byte, 32<<10)
	r := io.NewSectionReader(b.r, off, n)
	var done int64
	for done < n {
		if err := ctx.Err(); err != nil {
			return Sum{}, err
		}
		k, err := io.CopyBuffer(w, io.LimitReader(r, 1<<20), buf)
		done += k
		if err != nil {
			return Sum{}, err
		}
		if k == 0 {
			return Sum{}, io.ErrUnexpectedEOF
		}
	}
	var s Sum
	s.CRC64 = c.Sum64()
	copy(s.MD5[:], m.Sum(nil))
	return s, nil
}
