package emulator_test

import (
	"bytes"
	"fmt"
	"hash/crc64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh/emulator"
)

// dirPath is the API path of a directory, encoded whole as the JS SDK does.
func dirPath(p string) string {
	return "/api/v1/directory/" + lib + "/" + space + "/" + url.PathEscape(p)
}

type listing struct {
	Path        []string `json:"path"`
	FileCount   int      `json:"fileCount"`
	SubDirCount int      `json:"subDirCount"`
	TotalNum    int      `json:"totalNum"`
	NextMarker  *string  `json:"nextMarker"`
	Contents    []struct {
		Name             string            `json:"name"`
		Type             string            `json:"type"`
		CreationTime     string            `json:"creationTime"`
		ModificationTime string            `json:"modificationTime"`
		ContentType      string            `json:"contentType"`
		Size             *string           `json:"size"`
		ETag             string            `json:"eTag"`
		CRC64            string            `json:"crc64"`
		MetaData         map[string]string `json:"metaData"`
	} `json:"contents"`
}

func (l listing) names() []string {
	var out []string
	for _, c := range l.Contents {
		out = append(out, c.Name)
	}
	return out
}

func (e *env) list(p, query string) listing {
	e.t.Helper()
	r := e.call("GET", dirPath(p), query, nil)
	require.Equal(e.t, 200, r.status, "list %s?%s: %s", p, query, r.body)
	var l listing
	r.decode(e.t, &l)
	return l
}

func TestListDirectory(t *testing.T) {
	e := start(t, emulator.Config{})
	for _, d := range []string{"top/b-dir", "top/a-dir/deeper"} {
		require.NoError(t, e.srv.CreateDirectory(space, d))
	}
	// Files written at different times and with different sizes, names out of order.
	files := map[string]string{"top/z.txt": "zz", "top/m.bin": "mmmmmmm", "top/a.txt": "a"}
	for _, name := range []string{"top/z.txt", "top/m.bin", "top/a.txt"} {
		require.NoError(t, e.srv.WriteFile(space, name, []byte(files[name])))
		e.clock.Advance(time.Second)
	}

	l := e.list("top", "by-marker=1")
	assert.Equal(t, []string{"top"}, l.Path)
	assert.Equal(t, 3, l.FileCount)
	assert.Equal(t, 2, l.SubDirCount)
	assert.Equal(t, 5, l.TotalNum)
	assert.Nil(t, l.NextMarker)
	assert.Equal(t, []string{"a-dir", "b-dir", "a.txt", "m.bin", "z.txt"}, l.names(), "directories first, then files, by name")
	dir, file := l.Contents[0], l.Contents[3]
	assert.Equal(t, "dir", dir.Type)
	assert.Nil(t, dir.Size, "a directory has no size")
	assert.Equal(t, millis(e.clock.Now().Add(-3*time.Second)), dir.CreationTime)
	assert.Equal(t, "file", file.Type)
	require.NotNil(t, file.Size)
	assert.Equal(t, "7", *file.Size, "size is a string")
	assert.Equal(t, strconv.FormatUint(crc64.Checksum([]byte("mmmmmmm"), ecma), 10), file.CRC64)
	assert.Equal(t, quotedMD5([]byte("mmmmmmm")), file.ETag)
	assert.Equal(t, "application/octet-stream", file.ContentType)

	// The root: path [], counts of its own children only.
	r := e.call("GET", "/api/v1/directory/"+lib+"/"+space+"/", "", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `"path":[]`)
	var root listing
	r.decode(t, &root)
	assert.Equal(t, []string{"top"}, root.names())
	assert.Equal(t, 1, root.TotalNum)
	r = e.call("GET", "/api/v1/directory/"+lib+"/"+space, "by-marker", nil)
	require.Equal(t, 200, r.status, "no trailing slash: %s", r.body)

	// Marker paging walks the same order; nextMarker only while more remain.
	var walked []string
	marker := ""
	for range 10 {
		q := "by-marker=1&limit=2"
		if marker != "" {
			q += "&marker=" + url.QueryEscape(marker)
		}
		page := e.list("top", q)
		assert.Equal(t, 5, page.TotalNum)
		walked = append(walked, page.names()...)
		if page.NextMarker == nil {
			break
		}
		marker = *page.NextMarker
	}
	assert.Equal(t, l.names(), walked)

	// Page paging.
	assert.Equal(t, []string{"a.txt", "m.bin"}, e.list("top", "by-page=1&page=2&page_size=2").names())
	assert.Equal(t, []string{"z.txt"}, e.list("top", "by-page=1&page=3&page_size=2").names())
	assert.Empty(t, e.list("top", "by-page=1&page=9&page_size=2").names())
	p := e.list("top", "page=1")
	assert.Nil(t, p.NextMarker, "page paging sends no nextMarker")
	assert.Len(t, p.Contents, 5)

	// Filters and orders.
	onlyFile := e.list("top", "filter=onlyFile")
	assert.Equal(t, []string{"a.txt", "m.bin", "z.txt"}, onlyFile.names())
	assert.Equal(t, 5, onlyFile.TotalNum, "totals describe the directory, not the filter")
	assert.Equal(t, []string{"a-dir", "b-dir"}, e.list("top", "filter=onlyDir").names())
	assert.Equal(t, []string{"b-dir", "a-dir", "m.bin", "z.txt", "a.txt"}, e.list("top", "order_by=size&order_by_type=desc").names())
	assert.Equal(t, []string{"a-dir", "b-dir", "z.txt", "m.bin", "a.txt"}, e.list("top", "order_by=modificationTime").names())
	assert.Equal(t, []string{"a-dir", "a.txt", "b-dir", "m.bin", "z.txt"}, e.list("top", "sort_type=union").names())

	// Errors.
	for _, q := range []string{"order_by=colour", "order_by_type=up", "filter=onlyLinks", "sort_type=mixed",
		"limit=0", "limit=x", "marker=-1", "by-page=1&page=0", "by-page=1&page=501&page_size=20"} {
		r := e.call("GET", dirPath("top"), q, nil)
		assert.Equal(t, 400, r.status, q)
		assert.Equal(t, "ParamInvalid", r.code(t), q)
	}
	assert.Len(t, e.list("top", "limit=1000").Contents, 5, "a large limit is clamped, not refused")
	for _, p := range []string{"missing", "top/a.txt"} {
		r = e.call("GET", dirPath(p), "", nil)
		assert.Equal(t, 404, r.status, p)
		assert.Equal(t, "DirectoryNotFound", r.code(t), p)
	}
	e.srv.ResetCounts()
	e.list("top", "")
	assert.Equal(t, 1, e.srv.Count("directory.list"))
}

func TestListPathForms(t *testing.T) {
	e := start(t, emulator.Config{})
	require.NoError(t, e.srv.WriteFile(space, "a b/c+d/x.txt", []byte("x")))
	base := "/api/v1/directory/" + lib + "/" + space + "/"
	for _, p := range []string{
		url.PathEscape("a b/c+d"),         // whole, "/" as %2F
		"%2F" + url.PathEscape("a b/c+d"), // whole with a leading "/"
		"a%20b/c%2Bd",                     // per segment
		"a%20b/c+d",                       // "+" is literal in a path
		strings.ReplaceAll(url.QueryEscape("a b/c+d"), "+", "%20"), // encodeURIComponent
	} {
		r := e.call("GET", base+p, "by-marker=1", nil)
		require.Equal(t, 200, r.status, "%s: %s", p, r.body)
		var l listing
		r.decode(t, &l)
		assert.Equal(t, []string{"a b", "c+d"}, l.Path, p)
		assert.Equal(t, []string{"x.txt"}, l.names(), p)
	}
}

func TestDeleteFile(t *testing.T) {
	inBothModes(t, func(t *testing.T, cfg emulator.Config) {
		e := start(t, cfg)
		require.NoError(t, e.srv.WriteFile(space, "d/gone.txt", []byte("bye")))
		require.NoError(t, e.srv.WriteFile(space, "d/kept.txt", []byte("hi")))
		e.clock.Advance(time.Minute)

		readOnly := newToken(t, e, "grant=")
		r := e.callTok(readOnly, "DELETE", filePath("d/gone.txt"), "", nil)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "NoPermission", r.code(t))
		uploader := newToken(t, e, "grant=upload_file")
		assert.Equal(t, "NoPermission", e.callTok(uploader, "DELETE", filePath("d/gone.txt"), "", nil).code(t))

		deleter := newToken(t, e, "grant=delete_file")
		r = e.callTok(deleter, "DELETE", filePath("d/gone.txt"), "", nil)
		require.Equal(t, 204, r.status, "%s", r.body)
		assert.Empty(t, r.body)
		_, err := e.srv.ReadFile(space, "d/gone.txt")
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Equal(t, 404, e.call("HEAD", filePath("d/gone.txt"), "", nil).status)
		got, err := e.srv.ReadFile(space, "d/kept.txt")
		require.NoError(t, err)
		assert.Equal(t, "hi", string(got))
		if cfg.Dir != "" {
			_, err := os.Stat(filepath.Join(cfg.Dir, "files", lib, space, "d", "gone.txt"))
			assert.ErrorIs(t, err, os.ErrNotExist)
		}
		l := e.list("d", "")
		assert.Equal(t, []string{"kept.txt"}, l.names())
		assert.Equal(t, millis(e.clock.Now()), e.list("", "").Contents[0].ModificationTime,
			"removing a child updates the directory's modification time")

		for _, p := range []string{"d/gone.txt", "d"} { // already gone; a directory is not a file
			r = e.call("DELETE", filePath(p), "", nil)
			assert.Equal(t, 404, r.status, p)
			assert.Equal(t, "FileNotFound", r.code(t), p)
		}
		assert.Equal(t, 204, e.call("DELETE", filePath("d/kept.txt"), "permanent=1", nil).status)
		assert.Equal(t, 6, e.srv.Count("file.delete"))
		assert.Zero(t, e.srv.Count("cancel"), "DELETE without ?upload is not a cancel")
	})
}

func TestDeleteDirectory(t *testing.T) {
	inBothModes(t, func(t *testing.T, cfg emulator.Config) {
		e := start(t, cfg)
		require.NoError(t, e.srv.WriteFile(space, "tree/a/b/deep.bin", []byte("deep")))
		require.NoError(t, e.srv.WriteFile(space, "tree/top.bin", []byte("top")))
		require.NoError(t, e.srv.WriteFile(space, "treehouse.bin", []byte("sibling with a common prefix")))
		info := e.begin("tree/a/pending.bin", "", nil) // an open upload into the doomed tree

		fileDeleter := newToken(t, e, "grant=delete_file")
		assert.Equal(t, "NoPermission", e.callTok(fileDeleter, "DELETE", dirPath("tree"), "", nil).code(t))
		dirDeleter := newToken(t, e, "grant=delete_directory")
		r := e.callTok(dirDeleter, "DELETE", dirPath("tree"), "", nil)
		require.Equal(t, 204, r.status, "%s", r.body)
		assert.Empty(t, r.body)

		for _, p := range []string{"tree/a/b/deep.bin", "tree/top.bin"} {
			_, err := e.srv.ReadFile(space, p)
			assert.ErrorIs(t, err, os.ErrNotExist, p)
		}
		got, err := e.srv.ReadFile(space, "treehouse.bin")
		require.NoError(t, err)
		assert.Equal(t, "sibling with a common prefix", string(got))
		for _, p := range []string{"tree", "tree/a"} {
			r = e.call("GET", dirPath(p), "", nil)
			assert.Equal(t, 404, r.status, p)
			assert.Equal(t, "DirectoryNotFound", r.code(t), p)
		}
		if cfg.Dir != "" {
			_, err := os.Stat(filepath.Join(cfg.Dir, "files", lib, space, "tree"))
			assert.ErrorIs(t, err, os.ErrNotExist)
		}
		assert.Equal(t, []string{"treehouse.bin"}, e.list("", "").names())

		// The open task cannot land in a directory that is gone.
		e.mustPut(info, 1, []byte("late"))
		r = e.confirm(info.ConfirmKey, "", nil)
		assert.Equal(t, 404, r.status)
		assert.Equal(t, "DirectoryNotFound", r.code(t))

		r = e.call("DELETE", dirPath("tree"), "", nil)
		assert.Equal(t, 404, r.status)
		assert.Equal(t, "DirectoryNotFound", r.code(t))
		r = e.call("DELETE", dirPath("treehouse.bin"), "", nil)
		assert.Equal(t, 404, r.status, "a file is not a directory")
		assert.Equal(t, "DirectoryNotFound", r.code(t))
		r = e.call("DELETE", "/api/v1/directory/"+lib+"/"+space+"/", "", nil)
		assert.Equal(t, 400, r.status, "the root cannot be deleted")
		assert.Equal(t, "EmptyPath", r.code(t))

		// A recreated directory is empty.
		require.Equal(t, 201, e.call("PUT", dirPath("tree/a"), "", nil).status)
		assert.Empty(t, e.list("tree/a", "").Contents)
	})
}

func TestDirectoryInfoAndHead(t *testing.T) {
	e := start(t, emulator.Config{})
	require.NoError(t, e.srv.WriteFile(space, "docs/readme.txt", []byte("read me")))
	readOnly := newToken(t, e, "grant=")

	r := e.callTok(readOnly, "GET", dirPath("docs"), "info=1", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var di struct {
		Path             []string `json:"path"`
		Name             string   `json:"name"`
		Type             string   `json:"type"`
		CreationTime     string   `json:"creationTime"`
		ModificationTime string   `json:"modificationTime"`
		Size             *string  `json:"size"`
		CRC64            string   `json:"crc64"`
	}
	r.decode(t, &di)
	assert.Equal(t, []string{"docs"}, di.Path)
	assert.Equal(t, "docs", di.Name)
	assert.Equal(t, "dir", di.Type)
	assert.Equal(t, millis(e.clock.Now()), di.CreationTime)
	assert.Nil(t, di.Size)

	r = e.call("GET", dirPath("docs/readme.txt"), "info", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	r.decode(t, &di)
	assert.Equal(t, []string{"docs", "readme.txt"}, di.Path)
	assert.Equal(t, "file", di.Type)
	require.NotNil(t, di.Size)
	assert.Equal(t, "7", *di.Size)
	assert.Equal(t, strconv.FormatUint(crc64.Checksum([]byte("read me"), ecma), 10), di.CRC64)
	assert.NotContains(t, string(r.body), "cosUrl")

	r = e.call("GET", "/api/v1/directory/"+lib+"/"+space+"/", "info", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `"path":[]`)
	r = e.call("GET", dirPath("nope"), "info", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "PathNotFound", r.code(t))

	r = e.callTok(readOnly, "HEAD", dirPath("docs"), "", nil)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "dir", r.header.Get("x-smh-type"))
	assert.Equal(t, millis(e.clock.Now()), r.header.Get("x-smh-creation-time"))
	assert.Empty(t, r.body)
	assert.Equal(t, 200, e.call("HEAD", "/api/v1/directory/"+lib+"/"+space+"/", "", nil).status, "the root exists")
	assert.Equal(t, 404, e.call("HEAD", dirPath("nope"), "", nil).status)
	assert.Equal(t, 404, e.call("HEAD", dirPath("docs/readme.txt"), "", nil).status)
	assert.Equal(t, 4, e.srv.Count("directory.head"))
	assert.Equal(t, 4, e.srv.Count("directory.info"))
}

// downloadInfo is the ?info answer: a file's details and where to download it.
type downloadInfo struct {
	fileInfo
	CosURL   string            `json:"cosUrl"`
	MetaData map[string]string `json:"metaData"`
}

func (e *env) info(p, query string) downloadInfo {
	e.t.Helper()
	if query != "" {
		query = "info=1&" + query
	} else {
		query = "info=1"
	}
	r := e.call("GET", filePath(p), query, nil)
	require.Equal(e.t, 200, r.status, "info %s: %s", p, r.body)
	var fi downloadInfo
	r.decode(e.t, &fi)
	return fi
}

func (e *env) get(rawURL string, header ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	require.NoError(e.t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func TestFileInfoAndDownload(t *testing.T) {
	inBothModes(t, func(t *testing.T, cfg emulator.Config) {
		e := start(t, cfg)
		data := randomBytes(200<<10+321, 11)
		r := e.uploadFile("dl.bin", "", data)
		require.Equal(t, 200, r.status, "%s", r.body)
		var confirmed fileInfo
		r.decode(t, &confirmed)
		readOnly := newToken(t, e, "grant=")

		r = e.callTok(readOnly, "GET", filePath("dl.bin"), "info", nil)
		require.Equal(t, 200, r.status, "%s", r.body)
		var fi downloadInfo
		r.decode(t, &fi)
		assert.Equal(t, "file", fi.Type)
		assert.Equal(t, strconv.Itoa(len(data)), fi.Size)
		assert.Equal(t, strconv.FormatUint(crc64.Checksum(data, ecma), 10), fi.CRC64)
		assert.Equal(t, confirmed.ETag, fi.ETag)
		assert.Equal(t, confirmed.CreationTime, fi.CreationTime)
		assert.Nil(t, fi.Path, "InfoFile200Response carries no path")
		u, err := url.Parse(fi.CosURL)
		require.NoError(t, err)
		assert.Equal(t, "http", u.Scheme)
		assert.Equal(t, strings.TrimPrefix(e.srv.COSEndpoint, "http://"), u.Host)
		for _, k := range []string{"q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-signature", "x-cos-security-token"} {
			assert.NotEmpty(t, u.Query().Get(k), k)
		}

		// The whole object.
		e.srv.ResetCounts()
		r = e.get(fi.CosURL)
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.True(t, bytes.Equal(data, r.body), "downloaded bytes differ")
		assert.Equal(t, fi.ETag, r.header.Get("ETag"))
		assert.Equal(t, fi.CRC64, r.header.Get("x-cos-hash-crc64ecma"))
		assert.Equal(t, "application/octet-stream", r.header.Get("Content-Type"))
		assert.Equal(t, "bytes", r.header.Get("Accept-Ranges"))
		assert.NotEmpty(t, r.header.Get("x-cos-request-id"))
		assert.Contains(t, r.header.Get("Access-Control-Expose-Headers"), "Content-Range")
		assert.Equal(t, 1, e.srv.Count("object.get"))

		// Ranges: 206 with Content-Range, as the SDK's multipart download expects.
		r = e.get(fi.CosURL, "Range", "bytes=100-199")
		require.Equal(t, 206, r.status, "%s", r.body)
		assert.Equal(t, fmt.Sprintf("bytes 100-199/%d", len(data)), r.header.Get("Content-Range"))
		assert.Equal(t, "100", r.header.Get("Content-Length"))
		assert.True(t, bytes.Equal(data[100:200], r.body))
		assert.Empty(t, r.header.Get("x-cos-hash-crc64ecma"), "no whole-object CRC on a range")
		r = e.get(fi.CosURL, "Range", "bytes=-10")
		require.Equal(t, 206, r.status)
		assert.True(t, bytes.Equal(data[len(data)-10:], r.body))
		r = e.get(fi.CosURL, "Range", fmt.Sprintf("bytes=%d-", len(data)+5))
		assert.Equal(t, 416, r.status)

		// The signature covers method, path and its signed parameters.
		r = e.do(mustReq(t, "HEAD", fi.CosURL))
		assert.Equal(t, 403, r.status, "a GET signature does not sign a HEAD")
		tampered := strings.Replace(fi.CosURL, "q-signature=", "q-signature=0", 1)
		r = e.get(tampered)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "SignatureDoesNotMatch", r.cosErr(t).Code)
		q := u.Query()
		q.Set("x-cos-security-token", "nope")
		r = e.get(u.Scheme + "://" + u.Host + u.Path + "?" + q.Encode())
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "InvalidAccessKeyId", r.cosErr(t).Code)
		r = e.get(u.Scheme + "://" + u.Host + u.Path)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "AccessDenied", r.cosErr(t).Code)
		// The legacy form: the whole authorization in one "sign" parameter; and the header form.
		auth := "q-sign-algorithm=sha1&q-ak=" + q.Get("q-ak") + "&q-sign-time=" + q.Get("q-sign-time") +
			"&q-key-time=" + q.Get("q-key-time") + "&q-header-list=&q-url-param-list=&q-signature=" + q.Get("q-signature")
		token := u.Query().Get("x-cos-security-token")
		r = e.get(u.Scheme + "://" + u.Host + u.Path + "?sign=" + url.QueryEscape(auth) + "&x-cos-security-token=" + token)
		assert.Equal(t, 200, r.status, "%s", r.body)
		r = e.get(u.Scheme+"://"+u.Host+u.Path, "Authorization", auth, "x-cos-security-token", token)
		assert.Equal(t, 200, r.status, "%s", r.body)

		// content_disposition=attachment is signed into the URL and comes back as a header.
		att := e.info("dl.bin", "content_disposition=attachment&traffic_limit=102400")
		r = e.get(att.CosURL)
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, "attachment; filename*=UTF-8''dl.bin", r.header.Get("Content-Disposition"))
		au, err := url.Parse(att.CosURL)
		require.NoError(t, err)
		assert.Equal(t, "819200", au.Query().Get("x-cos-traffic-limit"))
		aq := au.Query()
		aq.Set("response-content-disposition", "inline")
		r = e.get(au.Scheme + "://" + au.Host + au.Path + "?" + aq.Encode())
		assert.Equal(t, "SignatureDoesNotMatch", r.cosErr(t).Code, "a signed parameter cannot be changed")

		// pre_check: the details without a URL.
		r = e.call("GET", filePath("dl.bin"), "info&pre_check=1", nil)
		require.Equal(t, 200, r.status)
		assert.NotContains(t, string(r.body), "cosUrl")

		// The plain GET redirects to a signed URL, with the x-smh-* headers.
		noRedirect := &http.Client{Transport: e.hc.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		res, err := noRedirect.Get(e.srv.Endpoint + filePath("dl.bin") + "?access_token=" + readOnly)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, 302, res.StatusCode)
		assert.Equal(t, strconv.Itoa(len(data)), res.Header.Get("x-smh-size"))
		assert.Equal(t, fi.CRC64, res.Header.Get("x-smh-crc64"))
		assert.Equal(t, "file", res.Header.Get("x-smh-type"))
		assert.Equal(t, fi.ModificationTime, res.Header.Get("x-smh-modification-time"))
		r = e.get(res.Header.Get("Location"))
		require.Equal(t, 200, r.status)
		assert.True(t, bytes.Equal(data, r.body))
		r = e.call("GET", filePath("dl.bin"), "", nil) // followed by the client
		require.Equal(t, 200, r.status)
		assert.True(t, bytes.Equal(data, r.body))

		// Errors of the info call.
		require.NoError(t, e.srv.CreateDirectory(space, "adir"))
		for _, p := range []string{"missing.bin", "adir"} {
			r = e.call("GET", filePath(p), "info", nil)
			assert.Equal(t, 404, r.status, p)
			assert.Equal(t, "FileNotFound", r.code(t), p)
		}
		for _, q := range []string{"info&period=59", "info&period=7201", "info&content_disposition=download", "info&traffic_limit=1"} {
			r = e.call("GET", filePath("dl.bin"), q, nil)
			assert.Equal(t, 400, r.status, q)
			assert.Equal(t, "ParamInvalid", r.code(t), q)
		}

		// A URL dies with its file: delete, or overwrite.
		require.NoError(t, e.srv.WriteFile(space, "dl.bin", []byte("replaced")))
		r = e.get(fi.CosURL)
		assert.Equal(t, 404, r.status)
		assert.Equal(t, "NoSuchKey", r.cosErr(t).Code)
		fresh := e.info("dl.bin", "")
		r = e.get(fresh.CosURL)
		require.Equal(t, 200, r.status)
		assert.Equal(t, "replaced", string(r.body))
		require.Equal(t, 204, e.call("DELETE", filePath("dl.bin"), "", nil).status)
		assert.Equal(t, "NoSuchKey", e.get(fresh.CosURL).cosErr(t).Code)
	})
}

func mustReq(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	return req
}

func TestDownloadExpiry(t *testing.T) {
	e := start(t, emulator.Config{DownloadTTL: 10 * time.Minute})
	require.NoError(t, e.srv.WriteFile(space, "exp.txt", []byte("expiring")))

	fi := e.info("exp.txt", "")
	e.clock.Advance(10*time.Minute - time.Second)
	require.Equal(t, 200, e.get(fi.CosURL).status)
	e.clock.Advance(time.Second)
	r := e.get(fi.CosURL)
	require.Equal(t, 403, r.status)
	ce := r.cosErr(t)
	assert.Equal(t, "AccessDenied", ce.Code)
	assert.Equal(t, "Request has expired", ce.Message)
	assert.Equal(t, e.clock.Now().Format(time.RFC3339), ce.ServerTime)

	// period sets the lifetime per call, within 60..7200 s.
	long := e.info("exp.txt", "period=7200")
	e.clock.Advance(2*time.Hour - time.Second)
	assert.Equal(t, 200, e.get(long.CosURL).status)
	e.clock.Advance(time.Second)
	assert.Equal(t, 403, e.get(long.CosURL).status)

	// ExpireSignatures expires download URLs too; new ones work.
	fi = e.info("exp.txt", "")
	e.srv.ExpireSignatures()
	assert.Equal(t, "Request has expired", e.get(fi.CosURL).cosErr(t).Message)
	assert.Equal(t, 200, e.get(e.info("exp.txt", "").CosURL).status)

	// Many URLs: expired credentials are pruned, live ones keep working.
	var live string
	for i := range 300 { // more than the first prune threshold
		e.clock.Advance(2 * time.Second)
		u := e.info("exp.txt", "")
		if i == 299 {
			live = u.CosURL
		}
	}
	assert.Equal(t, 200, e.get(live).status)
}

func TestGrantsForReadsAndDeletes(t *testing.T) {
	e := start(t, emulator.Config{})
	require.NoError(t, e.srv.WriteFile(space, "g/file.txt", []byte("g")))
	readOnly := newToken(t, e, "grant=")

	// Any valid token reads.
	for _, c := range []struct{ method, path, query string }{
		{"GET", dirPath("g"), "by-marker=1"},
		{"GET", dirPath("g"), "info=1"},
		{"HEAD", dirPath("g"), ""},
		{"GET", filePath("g/file.txt"), "info=1"},
		{"HEAD", filePath("g/file.txt"), ""},
	} {
		r := e.callTok(readOnly, c.method, c.path, c.query, nil)
		assert.Equal(t, 200, r.status, "%s %s?%s: %s", c.method, c.path, c.query, r.body)
	}
	// No token, or an expired one, does not.
	r := e.callTok("-", "GET", dirPath("g"), "", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "EmptyAccessToken", r.code(t))
	r = e.callTok("bogus", "GET", filePath("g/file.txt"), "info", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "InvalidAccessToken", r.code(t))

	// Writes need their grant.
	for _, c := range []struct{ method, path, grant string }{
		{"PUT", dirPath("g/new"), "create_directory"},
		{"DELETE", filePath("g/file.txt"), "delete_file"},
		{"DELETE", dirPath("g"), "delete_directory_permanent"},
	} {
		r := e.callTok(readOnly, c.method, c.path, "", nil)
		assert.Equal(t, 403, r.status, c.path)
		assert.Equal(t, "NoPermission", r.code(t), c.path)
		r = e.callTok(newToken(t, e, "grant="+c.grant), c.method, c.path, "", nil)
		assert.Contains(t, []int{201, 204}, r.status, "%s %s with %s: %s", c.method, c.path, c.grant, r.body)
	}
	other := newToken(t, e, "grant=admin&space_id=elsewhere")
	r = e.callTok(other, "GET", dirPath(""), "", nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "AccessTokenNotMatchSpace", r.code(t))
}

func TestMoveAndCopyBodiesRefused(t *testing.T) {
	e := start(t, emulator.Config{})
	require.NoError(t, e.srv.WriteFile(space, "src/a.txt", []byte("a")))
	r := e.call("PUT", dirPath("dst"), "", map[string]string{"from": "src"})
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "ParamInvalid", r.code(t))
	r = e.call("PUT", dirPath("dst"), "", map[string]string{"copyFrom": "src"})
	assert.Equal(t, 400, r.status)
	r = e.call("PUT", filePath("b.txt"), "", map[string]string{"copyFrom": "src/a.txt"})
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "ParamInvalid", r.code(t))
	assert.Equal(t, []string{"src"}, e.list("", "").names(), "nothing was created")
	// An empty JSON body (what the SDK sends) creates the directory.
	assert.Equal(t, 201, e.call("PUT", dirPath("dst"), "", map[string]string{}).status)
}
