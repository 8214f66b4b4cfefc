package emulator_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc64"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh/emulator"
)

const (
	cosID  = "AKIDbenchexample"
	cosKey = "bench-secret-key"
)

// ---- Config.Discard ----

func TestDiscard(t *testing.T) {
	e := start(t, emulator.Config{Discard: true})
	data := randomBytes(2*mib+mib/2, 7)

	info := e.begin("big.bin", "", nil)
	for n, off := 1, 0; off < len(data); n, off = n+1, off+mib {
		part := data[off:min(off+mib, len(data))]
		r := e.putPart(info, n, part)
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, quotedMD5(part), r.header.Get("ETag"), "the ETag is the part's MD5, as stored")
		assert.Equal(t, strconv.FormatUint(crc64.Checksum(part, ecma), 10), r.header.Get("x-cos-hash-crc64ecma"))
	}
	var st struct {
		Parts []struct{ PartNumber, Size int }
	}
	e.call("GET", filePath(info.ConfirmKey), "upload", nil).decode(t, &st)
	assert.Len(t, st.Parts, 3, "a discarded part is still listed")

	wrong := crcBody(data)
	wrong["crc64"] = "1"
	r := e.confirm(info.ConfirmKey, "", wrong)
	require.Equal(t, 400, r.status)
	assert.Equal(t, "BadCrc64", r.code(t), "confirm checks the CRC combined from the parts")
	r = e.confirm(info.ConfirmKey, "", crcBody(data))
	require.Equal(t, 200, r.status, "%s", r.body)
	var fi fileInfo
	r.decode(t, &fi)
	assert.Equal(t, strconv.Itoa(len(data)), fi.Size)
	assert.Equal(t, strconv.FormatUint(crc64.Checksum(data, ecma), 10), fi.CRC64)

	got, err := e.srv.FileInfo(space, "big.bin")
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), got.Size)
	assert.Equal(t, crc64.Checksum(data, ecma), got.CRC64)
	assert.Empty(t, got.MD5, "no MD5 without the bytes")
	_, err = e.srv.ReadFile(space, "big.bin")
	assert.ErrorIs(t, err, emulator.ErrDiscarded)
	assert.Equal(t, 2, e.srv.Count("confirm.crc64"), "both confirms carried a crc64")

	// A confirm without a CRC stores too; a too-small middle part is still refused.
	info = e.begin("nocrc.bin", "", nil)
	e.mustPut(info, 1, data[:mib])
	e.mustPut(info, 2, data[mib:])
	require.Equal(t, 200, e.confirm(info.ConfirmKey, "", nil).status)
	got, err = e.srv.FileInfo(space, "nocrc.bin")
	require.NoError(t, err)
	assert.Equal(t, crc64.Checksum(data, ecma), got.CRC64)
	info = e.begin("small.bin", "", nil)
	e.mustPut(info, 1, data[:10])
	e.mustPut(info, 2, data[10:20])
	r = e.confirm(info.ConfirmKey, "", nil)
	assert.Equal(t, "MultipartUploadPartTooSmall", r.code(t))

	// A simple upload, and a file that cannot be downloaded or offered for instant upload.
	r = e.call("PUT", filePath("simple.txt"), "", nil)
	require.Equal(t, 201, r.status, "%s", r.body)
	var simple uploadInfo
	r.decode(t, &simple)
	e.mustPut(simple, 0, data[:100])
	require.Equal(t, 200, e.confirm(simple.ConfirmKey, "", crcBody(data[:100])).status)
	got, err = e.srv.FileInfo(space, "simple.txt")
	require.NoError(t, err)
	assert.Equal(t, int64(100), got.Size)
	var dl struct {
		CosURL string `json:"cosUrl"`
	}
	e.call("GET", filePath("big.bin"), "info", nil).decode(t, &dl)
	r = e.do(mustReq(t, "GET", dl.CosURL))
	assert.Equal(t, 404, r.status)
	begin, _ := hashes(data)
	r = e.call("POST", filePath("again.bin"), "multipart", map[string]string{"beginningHash": begin, "size": strconv.Itoa(len(data))})
	assert.Equal(t, 201, r.status, "a discarded file is no instant-upload candidate")
}

// ---- the plain COS calls ----

// cosSign signs a request as cos-js-sdk-v5's util.getAuth does: the sorted, lower-cased query keys and the
// signable headers (host, content-md5, x-cos-*), a 900 s window from now.
func cosSign(r *http.Request, id, key string, now time.Time) {
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	var qk []string
	q := r.URL.Query()
	for k := range q {
		qk = append(qk, strings.ToLower(k))
	}
	slices.Sort(qk)
	var qs []string
	for _, k := range qk {
		for orig, v := range q {
			if strings.ToLower(orig) == k {
				qs = append(qs, enc(k)+"="+enc(v[0]))
			}
		}
	}
	hdr := map[string]string{"host": r.URL.Host}
	for k, v := range r.Header {
		if lk := strings.ToLower(k); lk == "content-md5" || strings.HasPrefix(lk, "x-cos-") {
			hdr[lk] = v[0]
		}
	}
	var hk, hs []string
	for k := range hdr {
		hk = append(hk, k)
	}
	slices.Sort(hk)
	for _, k := range hk {
		hs = append(hs, enc(k)+"="+enc(hdr[k]))
	}
	window := fmt.Sprintf("%d;%d", now.Unix()-1, now.Unix()+900)
	mac := func(k, msg string) string {
		m := hmac.New(sha1.New, []byte(k))
		m.Write([]byte(msg))
		return hex.EncodeToString(m.Sum(nil))
	}
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	sum := sha1.Sum([]byte(strings.ToLower(r.Method) + "\n" + path + "\n" + strings.Join(qs, "&") + "\n" + strings.Join(hs, "&") + "\n"))
	sig := mac(mac(key, window), "sha1\n"+window+"\n"+hex.EncodeToString(sum[:])+"\n")
	r.Header.Set("Authorization", "q-sign-algorithm=sha1&q-ak="+id+"&q-sign-time="+window+"&q-key-time="+window+
		"&q-header-list="+strings.Join(hk, ";")+"&q-url-param-list="+strings.Join(qk, ";")+"&q-signature="+sig)
}

// cosCall sends a plain COS call signed with the test key pair ("" id: unsigned).
func (e *env) cosCall(id, method, pathQuery string, body []byte, header ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.COSEndpoint+pathQuery, bytes.NewReader(body))
	require.NoError(e.t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if id != "" {
		cosSign(req, id, cosKey, e.clock.Now())
	}
	return e.do(req)
}

type listUploads struct {
	IsTruncated                       bool
	NextKeyMarker, NextUploadIdMarker string
	Upload                            []struct{ Key, UploadId, StorageClass string }
}

type listParts struct {
	IsTruncated          bool
	NextPartNumberMarker int
	Part                 []struct {
		PartNumber int
		ETag       string
		Size       int
	}
}

func completeBody(parts ...any) []byte {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for i := 0; i+1 < len(parts); i += 2 {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", parts[i], parts[i+1])
	}
	b.WriteString("</CompleteMultipartUpload>")
	return []byte(b.String())
}

func contentMD5(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func TestCOSMultipartAPI(t *testing.T) {
	for _, discard := range []bool{false, true} {
		t.Run(fmt.Sprintf("discard=%v", discard), func(t *testing.T) {
			testCOSMultipart(t, discard)
		})
	}
}

func testCOSMultipart(t *testing.T, discard bool) {
	e := start(t, emulator.Config{COSSecretID: cosID, COSSecretKey: cosKey, Discard: discard})
	const key = "dir/obj.bin"
	data := randomBytes(2*mib+mib/2, 3)
	p1, p2, p3 := data[:mib], data[mib:2*mib], data[2*mib:]

	var lu listUploads
	r := e.cosCall(cosID, "GET", "/?uploads&prefix="+url.QueryEscape(key), nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	require.NoError(t, xml.Unmarshal(r.body, &lu))
	assert.Empty(t, lu.Upload)

	var ids []string
	for range 3 {
		r = e.cosCall(cosID, "POST", "/"+key+"?uploads", nil, "Content-Type", "video/mp4")
		require.Equal(t, 200, r.status, "%s", r.body)
		var init struct{ Bucket, Key, UploadId string }
		require.NoError(t, xml.Unmarshal(r.body, &init))
		assert.Equal(t, key, init.Key)
		require.NotEmpty(t, init.UploadId)
		ids = append(ids, init.UploadId)
		e.clock.Advance(time.Second)
	}
	r = e.cosCall(cosID, "POST", "/other.bin?uploads", nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, 4, e.srv.OpenMultipartUploads())

	// Listing: by prefix, in initiation order, paged.
	r = e.cosCall(cosID, "GET", "/?uploads&prefix=dir%2F&max-uploads=2", nil)
	require.Equal(t, 200, r.status)
	lu = listUploads{}
	require.NoError(t, xml.Unmarshal(r.body, &lu))
	require.Len(t, lu.Upload, 2)
	assert.True(t, lu.IsTruncated)
	assert.Equal(t, []string{ids[0], ids[1]}, []string{lu.Upload[0].UploadId, lu.Upload[1].UploadId})
	r = e.cosCall(cosID, "GET", "/?uploads&prefix=dir%2F&key-marker="+url.QueryEscape(lu.NextKeyMarker)+"&upload-id-marker="+lu.NextUploadIdMarker, nil)
	lu = listUploads{}
	require.NoError(t, xml.Unmarshal(r.body, &lu))
	require.Len(t, lu.Upload, 1)
	assert.Equal(t, ids[2], lu.Upload[0].UploadId)
	assert.False(t, lu.IsTruncated)

	id := ids[0]
	for i, p := range [][]byte{p1, p2, p3} {
		r = e.cosCall(cosID, "PUT", fmt.Sprintf("/%s?partNumber=%d&uploadId=%s", key, i+1, id), p)
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, quotedMD5(p), r.header.Get("ETag"))
		assert.Equal(t, strconv.FormatUint(crc64.Checksum(p, ecma), 10), r.header.Get("x-cos-hash-crc64ecma"))
	}
	assert.Equal(t, 3, e.srv.Count("part"))
	r = e.cosCall(cosID, "PUT", fmt.Sprintf("/wrong.bin?partNumber=1&uploadId=%s", id), p1)
	assert.Equal(t, "NoSuchUpload", r.cosErr(t).Code, "an upload id belongs to its key")

	// ListParts, paged.
	r = e.cosCall(cosID, "GET", "/"+key+"?uploadId="+id+"&max-parts=2", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var lp listParts
	require.NoError(t, xml.Unmarshal(r.body, &lp))
	require.Len(t, lp.Part, 2)
	assert.True(t, lp.IsTruncated)
	assert.Equal(t, quotedMD5(p2), lp.Part[1].ETag)
	assert.Equal(t, mib, lp.Part[1].Size)
	r = e.cosCall(cosID, "GET", "/"+key+"?uploadId="+id+"&part-number-marker="+strconv.Itoa(lp.NextPartNumberMarker), nil)
	lp = listParts{}
	require.NoError(t, xml.Unmarshal(r.body, &lp))
	require.Len(t, lp.Part, 1)
	assert.Equal(t, 3, lp.Part[0].PartNumber)
	assert.Equal(t, len(p3), lp.Part[0].Size)

	// Complete: the list is checked.
	for _, tc := range []struct {
		body []byte
		code string
	}{
		{completeBody(2, quotedMD5(p2), 1, quotedMD5(p1)), "InvalidPartOrder"},
		{completeBody(1, quotedMD5(p2), 2, quotedMD5(p2)), "InvalidPart"},
		{completeBody(1, quotedMD5(p1), 4, quotedMD5(p3)), "InvalidPart"},
		{completeBody(3, quotedMD5(p3), 4, quotedMD5(p3))[:40], "MalformedXML"},
	} {
		r = e.cosCall(cosID, "POST", "/"+key+"?uploadId="+id, tc.body, "Content-Type", "application/xml")
		assert.Equal(t, 400, r.status)
		assert.Equal(t, tc.code, r.cosErr(t).Code)
	}
	body := completeBody(1, quotedMD5(p1), 2, quotedMD5(p2), 3, quotedMD5(p3))
	r = e.cosCall(cosID, "POST", "/"+key+"?uploadId="+id, body, "Content-MD5", contentMD5([]byte("other")))
	assert.Equal(t, "BadDigest", r.cosErr(t).Code)
	r = e.cosCall(cosID, "POST", "/"+key+"?uploadId="+id, body, "Content-MD5", contentMD5(body), "Content-Type", "application/xml")
	require.Equal(t, 200, r.status, "%s", r.body)
	var res struct{ Location, Bucket, Key, ETag string }
	require.NoError(t, xml.Unmarshal(r.body, &res))
	assert.Equal(t, key, res.Key)
	assert.Regexp(t, `^"[0-9a-f]{32}-3"$`, res.ETag)
	assert.Equal(t, strconv.FormatUint(crc64.Checksum(data, ecma), 10), r.header.Get("x-cos-hash-crc64ecma"))

	fi, err := e.srv.ObjectInfo(key)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), fi.Size)
	assert.Equal(t, crc64.Checksum(data, ecma), fi.CRC64)
	assert.Equal(t, res.ETag, fi.ETag)
	assert.Equal(t, "video/mp4", fi.ContentType)
	got, err := e.srv.ReadObject("/" + key)
	if discard {
		assert.ErrorIs(t, err, emulator.ErrDiscarded)
		assert.Empty(t, fi.MD5)
	} else {
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got))
		sum := md5.Sum(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), fi.MD5)
	}
	r = e.cosCall(cosID, "PUT", fmt.Sprintf("/%s?partNumber=1&uploadId=%s", key, id), p1)
	assert.Equal(t, "NoSuchUpload", r.cosErr(t).Code, "a completed upload takes no more parts")
	r = e.cosCall(cosID, "POST", "/"+key+"?uploadId="+id, body)
	assert.Equal(t, "NoSuchUpload", r.cosErr(t).Code)

	// A part under 1 MiB is only allowed last; unlisted parts are dropped.
	small := ids[1]
	for i, p := range [][]byte{p3, p1} {
		r = e.cosCall(cosID, "PUT", fmt.Sprintf("/%s?partNumber=%d&uploadId=%s", key, i+1, small), p)
		require.Equal(t, 200, r.status)
	}
	r = e.cosCall(cosID, "POST", "/"+key+"?uploadId="+small, completeBody(1, quotedMD5(p3), 2, quotedMD5(p1)))
	assert.Equal(t, "EntityTooSmall", r.cosErr(t).Code)
	r = e.cosCall(cosID, "POST", "/"+key+"?uploadId="+small, completeBody(1, quotedMD5(p3)))
	require.Equal(t, 200, r.status, "%s", r.body)
	fi, err = e.srv.ObjectInfo(key)
	require.NoError(t, err)
	assert.Equal(t, int64(len(p3)), fi.Size, "the new object replaced the old one")
	assert.Equal(t, crc64.Checksum(p3, ecma), fi.CRC64)

	// Abort.
	r = e.cosCall(cosID, "PUT", fmt.Sprintf("/%s?partNumber=1&uploadId=%s", key, ids[2]), p1)
	require.Equal(t, 200, r.status)
	r = e.cosCall(cosID, "DELETE", "/"+key+"?uploadId="+ids[2], nil)
	assert.Equal(t, 204, r.status)
	r = e.cosCall(cosID, "GET", "/"+key+"?uploadId="+ids[2], nil)
	assert.Equal(t, "NoSuchUpload", r.cosErr(t).Code)
	r = e.cosCall(cosID, "DELETE", "/"+key+"?uploadId="+ids[2], nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, 1, e.srv.OpenMultipartUploads(), "other.bin")

	// PutObject with the key pair.
	r = e.cosCall(cosID, "PUT", "/plain.txt", p3, "Content-Type", "text/plain")
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, quotedMD5(p3), r.header.Get("ETag"))
	fi, err = e.srv.ObjectInfo("plain.txt")
	require.NoError(t, err)
	assert.Equal(t, crc64.Checksum(p3, ecma), fi.CRC64)
	_, err = e.srv.ObjectInfo("missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	counts := e.srv.Counts()
	for _, op := range []string{"cos.list", "cos.init", "cos.parts", "cos.complete", "cos.abort", "part", "object.put"} {
		assert.Positive(t, counts[op], op)
	}
}

func TestCOSAuthentication(t *testing.T) {
	e := start(t, emulator.Config{COSSecretID: cosID, COSSecretKey: cosKey})
	r := e.cosCall("", "POST", "/a.bin?uploads", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "AccessDenied", r.cosErr(t).Code)
	r = e.cosCall("AKIDother", "POST", "/a.bin?uploads", nil)
	assert.Equal(t, "InvalidAccessKeyId", r.cosErr(t).Code)

	// Signed for another path, another parameter list, another host: refused.
	req, err := http.NewRequest("POST", e.srv.COSEndpoint+"/b.bin?uploads", nil)
	require.NoError(t, err)
	cosSign(req, cosID, cosKey, e.clock.Now())
	req.URL.Path = "/a.bin"
	assert.Equal(t, "SignatureDoesNotMatch", e.do(req).cosErr(t).Code)
	req, err = http.NewRequest("GET", e.srv.COSEndpoint+"/?uploads&prefix=a", nil)
	require.NoError(t, err)
	cosSign(req, cosID, cosKey, e.clock.Now())
	req.URL.RawQuery = "uploads&prefix=b"
	assert.Equal(t, "SignatureDoesNotMatch", e.do(req).cosErr(t).Code)
	req, err = http.NewRequest("POST", e.srv.COSEndpoint+"/a.bin?uploads", nil)
	require.NoError(t, err)
	cosSign(req, cosID, cosKey, e.clock.Now())
	req.Host = "example.com"
	assert.Equal(t, "SignatureDoesNotMatch", e.do(req).cosErr(t).Code)

	// The window is checked on the server clock; ExpireSignatures leaves a permanent key alone.
	req, err = http.NewRequest("POST", e.srv.COSEndpoint+"/a.bin?uploads", nil)
	require.NoError(t, err)
	cosSign(req, cosID, cosKey, e.clock.Now().Add(-time.Hour))
	r = e.do(req)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "Request has expired", r.cosErr(t).Message)
	e.srv.ExpireSignatures()
	assert.Equal(t, 200, e.cosCall(cosID, "POST", "/a.bin?uploads", nil).status)

	// Without a key pair the plain calls are refused; SMH part uploads are not affected.
	plain := start(t, emulator.Config{})
	r = plain.cosCall(cosID, "POST", "/a.bin?uploads", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "AccessDenied", r.cosErr(t).Code)
	r = plain.cosCall(cosID, "PUT", "/plain.bin", []byte("x"))
	assert.Equal(t, 403, r.status)
	info := plain.begin("smh.bin", "", nil)
	plain.mustPut(info, 1, []byte("x"))
}

func TestPreflightCounts(t *testing.T) {
	e := start(t, emulator.Config{})
	for _, base := range []string{e.srv.Endpoint, e.srv.COSEndpoint, e.srv.COSEndpoint} {
		req, err := http.NewRequest("OPTIONS", base+"/k?partNumber=1&uploadId=x", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "http://localhost")
		req.Header.Set("Access-Control-Request-Method", "PUT")
		require.Equal(t, 200, e.do(req).status)
	}
	assert.Equal(t, map[string]int{"api.preflight": 1, "cos.preflight": 2}, e.srv.Counts())
	e.srv.ResetCounts()
	assert.Empty(t, e.srv.Counts())
}
