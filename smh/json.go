package smh

import (
	"errors"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// The API's JSON is read and written here, field by field, over fastjson,
// rather than by encoding/json: its reflection-driven codec was 536 KB of
// the browser's smh.wasm (133 KB gzip, a tenth of the download), for a
// dozen small, fixed shapes. The types keep their json tags for programs
// that marshal them natively.
//
// Decoding follows encoding/json where it matters here: a missing key or a
// null leaves the zero value, a key matches exactly or else ignoring case,
// and a value of the wrong type is an error. Integers are flexInt's: a
// number or a numeric string.

// decoder is a response shape that reads itself from a parsed JSON value.
type decoder interface {
	decodeJSON(v *fastjson.Value) error
}

// decodeJSON parses b into out.
func decodeJSON(b []byte, out decoder) error {
	v, err := fastjson.ParseBytes(b)
	if err != nil {
		return err
	}
	return out.decodeJSON(v)
}

// anyJSON keeps a parsed answer, for begin's two answer shapes.
type anyJSON struct{ v *fastjson.Value }

func (a *anyJSON) decodeJSON(v *fastjson.Value) error {
	a.v = v
	return nil
}

// fields reads the members of one JSON object; the first error sticks and
// later reads return zero values.
type fields struct {
	o   *fastjson.Object
	err error
}

func objectOf(v *fastjson.Value) *fields {
	o, err := v.Object()
	if err != nil {
		return &fields{err: errors.New("not a JSON object")}
	}
	return &fields{o: o}
}

// get finds key as encoding/json does: exactly, else ignoring case.
func (f *fields) get(key string) *fastjson.Value {
	if f.err != nil {
		return nil
	}
	v := f.o.Get(key)
	if v == nil {
		f.o.Visit(func(k []byte, kv *fastjson.Value) {
			if v == nil && equalFold(k, key) {
				v = kv
			}
		})
	}
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	return v
}

func equalFold(k []byte, key string) bool {
	if len(k) != len(key) {
		return false
	}
	for i := range k {
		a, b := k[i], key[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

func (f *fields) fail(key, want string) {
	if f.err == nil {
		f.err = errors.New(key + ": not " + want)
	}
}

func (f *fields) str(key string) string {
	v := f.get(key)
	if v == nil {
		return ""
	}
	b, err := v.StringBytes()
	if err != nil {
		f.fail(key, "a string")
	}
	return string(b)
}

func (f *fields) boolean(key string) bool {
	v := f.get(key)
	if v == nil {
		return false
	}
	b, err := v.Bool()
	if err != nil {
		f.fail(key, "a boolean")
	}
	return b
}

func (f *fields) integer(key string) flexInt {
	v := f.get(key)
	if v == nil {
		return 0
	}
	var s string
	switch v.Type() {
	case fastjson.TypeNumber:
		n, err := v.Int64()
		if err != nil {
			f.fail(key, "an integer")
		}
		return flexInt(n)
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		s = string(b)
	default:
		f.fail(key, "an integer")
		return 0
	}
	var n flexInt
	if err := n.parse(s); err != nil {
		f.fail(key, "an integer")
	}
	return n
}

func (f *fields) strings(key string) []string {
	v := f.get(key)
	if v == nil {
		return nil
	}
	a, err := v.Array()
	if err != nil {
		f.fail(key, "an array")
		return nil
	}
	out := make([]string, len(a))
	for i, e := range a {
		b, err := e.StringBytes()
		if err != nil {
			f.fail(key, "an array of strings")
			return nil
		}
		out[i] = string(b)
	}
	return out
}

func (f *fields) stringMap(key string) map[string]string {
	var out map[string]string
	f.visitStrings(key, func(n int) { out = make(map[string]string, n) }, func(k, v string) { out[k] = v })
	return out
}

// formFields reads an object of strings as form fields, in the answer's
// order.
func (f *fields) formFields(key string) []FormField {
	var out []FormField
	f.visitStrings(key, func(n int) { out = make([]FormField, 0, n) }, func(k, v string) { out = append(out, FormField{k, v}) })
	return out
}

// visitStrings calls start with the number of members of the object of
// strings at key, if there is one, then add with each member in order.
func (f *fields) visitStrings(key string, start func(int), add func(k, v string)) {
	v := f.get(key)
	if v == nil {
		return
	}
	o, err := v.Object()
	if err != nil {
		f.fail(key, "an object")
		return
	}
	start(o.Len())
	o.Visit(func(k []byte, e *fastjson.Value) {
		b, err := e.StringBytes()
		if err != nil {
			f.fail(key, "an object of strings")
		}
		add(string(k), string(b))
	})
}

// time reads an RFC 3339 time, as time.Time's UnmarshalJSON does.
func (f *fields) time(key string) time.Time {
	s := f.str(key)
	if s == "" || f.err != nil {
		return time.Time{}
	}
	t, ok := parseRFC3339(s)
	if !ok {
		f.fail(key, "an RFC 3339 time")
	}
	return t
}

func (u *UploadInfo) decodeJSON(v *fastjson.Value) error {
	f := objectOf(v)
	*u = UploadInfo{
		Domain:             f.str("domain"),
		Path:               f.str("path"),
		UploadID:           f.str("uploadId"),
		Headers:            f.stringMap("headers"),
		Form:               f.formFields("form"),
		ConfirmKey:         f.str("confirmKey"),
		Expiration:         f.time("expiration"),
		AvailableDomainNum: f.integer("availableDomainNum"),
	}
	return f.err
}

func (fi *FileInfo) decodeJSON(v *fastjson.Value) error {
	f := objectOf(v)
	*fi = FileInfo{
		Path:             f.strings("path"),
		Name:             f.str("name"),
		Type:             f.str("type"),
		CreationTime:     f.str("creationTime"),
		ModificationTime: f.str("modificationTime"),
		ContentType:      f.str("contentType"),
		Size:             f.integer("size"),
		ETag:             f.str("eTag"),
		CRC64:            f.str("crc64"),
		MetaData:         f.stringMap("metaData"),
	}
	return f.err
}

func (s *UploadStatus) decodeJSON(v *fastjson.Value) error {
	f := objectOf(v)
	*s = UploadStatus{
		Confirmed:                  f.boolean("confirmed"),
		Path:                       f.strings("path"),
		Type:                       f.str("type"),
		CreationTime:               f.str("creationTime"),
		ConflictResolutionStrategy: f.str("conflictResolutionStrategy"),
		Force:                      f.boolean("force"),
		AvailableDomainNum:         f.integer("availableDomainNum"),
		UploadID:                   f.str("uploadId"),
	}
	if p := f.get("parts"); p != nil {
		a, err := p.Array()
		if err != nil {
			f.fail("parts", "an array")
		}
		for _, e := range a {
			pf := objectOf(e)
			s.Parts = append(s.Parts, UploadedPart{
				PartNumber:   int(pf.integer("PartNumber")),
				LastModified: pf.str("LastModified"),
				ETag:         pf.str("ETag"),
				Size:         int64(pf.integer("Size")),
			})
			if pf.err != nil && f.err == nil {
				f.err = errors.New("parts: " + pf.err.Error())
			}
		}
	}
	if p := f.get("uploadPartInfo"); p != nil && f.err == nil {
		s.UploadPartInfo = new(UploadInfo)
		if err := s.UploadPartInfo.decodeJSON(p); err != nil {
			f.err = errors.New("uploadPartInfo: " + err.Error())
		}
	}
	return f.err
}

func (t *Token) decodeJSON(v *fastjson.Value) error {
	f := objectOf(v)
	*t = Token{AccessToken: f.str("accessToken"), ExpiresIn: int64(f.integer("expiresIn"))}
	return f.err
}

func (r *ResumeRecord) decodeJSON(v *fastjson.Value) error {
	f := objectOf(v)
	*r = ResumeRecord{
		ConfirmKey: f.str("confirmKey"),
		Done:       f.boolean("done"),
		PartSize:   int64(f.integer("partSize")),
		Size:       int64(f.integer("size")),
		Path:       f.str("path"),
		Saved:      f.time("saved"),
	}
	if v := f.get("file"); v != nil && f.err == nil {
		r.File = new(FileInfo)
		if err := r.File.decodeJSON(v); err != nil {
			return errors.New("file: " + err.Error())
		}
	}
	return f.err
}

// errorBody is an SMH error answer; request ids come under several names.
type errorBody struct {
	Code, Message, RequestID string
}

func (e *errorBody) decodeJSON(v *fastjson.Value) error {
	f := objectOf(v)
	e.Code, e.Message = f.str("code"), f.str("message")
	// requestId, reqId and smhRequestId; requestID is requestId but for case.
	e.RequestID = firstNonEmpty(f.str("requestId"), f.str("reqId"), f.str("smhRequestId"))
	return f.err
}

// jsonObject builds a JSON object of string members, in order, leaving out
// empty values: the shape of every body this package sends. With no member
// left it returns nil, no body at all: a browser sends a POST without a
// body (and so without Content-Type: application/json) as a simple
// request, with no CORS preflight, and SMH takes no body as the empty
// object. Every file's begin and confirm URL differs, so a preflight would
// never be cached: for a small file that is two of its six requests.
func jsonObject(kv ...string) []byte {
	b := []byte{'{'}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = appendJSONString(append(appendJSONString(b, kv[i]), ':'), kv[i+1])
		}
	}
	if len(b) == 1 {
		return nil
	}
	return append(b, '}')
}

// encodeJSON is ResumeRecord's saved form, as encoding/json writes it.
func (r ResumeRecord) encodeJSON() []byte {
	b := []byte{'{'}
	if r.ConfirmKey != "" {
		b = append(appendJSONString(append(b, `"confirmKey":`...), r.ConfirmKey), ',')
	}
	if r.Done {
		b = append(b, `"done":true,`...)
	}
	if r.File != nil {
		b = append(r.File.appendJSON(append(b, `"file":`...)), ',')
	}
	b = strconv.AppendInt(append(b, `"partSize":`...), r.PartSize, 10)
	b = strconv.AppendInt(append(b, `,"size":`...), r.Size, 10)
	b = appendJSONString(append(b, `,"path":`...), r.Path)
	b = appendJSONString(append(b, `,"saved":`...), r.Saved.Format(time.RFC3339Nano))
	return append(b, '}')
}

// appendJSON appends the file as encoding/json writes it.
func (fi *FileInfo) appendJSON(b []byte) []byte {
	b = append(b, `{"path":`...)
	if fi.Path == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range fi.Path {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p)
		}
		b = append(b, ']')
	}
	for _, kv := range [][2]string{{"name", fi.Name}, {"type", fi.Type}, {"creationTime", fi.CreationTime},
		{"modificationTime", fi.ModificationTime}, {"contentType", fi.ContentType}} {
		b = appendJSONString(append(appendJSONString(append(b, ','), kv[0]), ':'), kv[1])
	}
	b = strconv.AppendInt(append(b, `,"size":`...), int64(fi.Size), 10)
	b = appendJSONString(append(b, `,"eTag":`...), fi.ETag)
	b = appendJSONString(append(b, `,"crc64":`...), fi.CRC64)
	if len(fi.MetaData) > 0 {
		keys := make([]string, 0, len(fi.MetaData))
		for k := range fi.MetaData {
			keys = append(keys, k)
		}
		sort.Strings(keys) // as encoding/json orders a map
		b = append(b, `,"metaData":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(append(appendJSONString(b, k), ':'), fi.MetaData[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. fastjson's writer cannot be
// used for this: it falls back to strconv.Quote, whose \x01 and \U0001F600
// escapes are not JSON. Escapes follow encoding/json: control characters,
// quote and backslash, U+2028/2029 (line ends to JavaScript), and invalid
// UTF-8 as U+FFFD (it also escapes <, > and & for HTML, which is not needed
// here).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == 0x2028 || r == 0x2029:
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
