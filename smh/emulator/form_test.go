package emulator_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"hash/crc64"
	"mime/multipart"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh/emulator"
)

type formInfo struct {
	Domain     string            `json:"domain"`
	Form       map[string]string `json:"form"`
	ConfirmKey string            `json:"confirmKey"`
	Expiration string            `json:"expiration"`
}

// beginForm begins a form upload: a POST with no flag.
func (e *env) beginForm(p string) formInfo {
	e.t.Helper()
	r := e.call("POST", filePath(p), "", nil)
	require.Equal(e.t, 201, r.status, "begin: %s", r.body)
	var info formInfo
	r.decode(e.t, &info)
	return info
}

// postForm sends data as a COS form upload with fields, in the order given, then the file.
func (e *env) postForm(info formInfo, fields []string, data []byte) resp {
	e.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, k := range fields {
		require.NoError(e.t, w.WriteField(k, info.Form[k]))
	}
	if data != nil {
		f, err := w.CreateFormFile("file", "blob")
		require.NoError(e.t, err)
		f.Write(data)
	}
	require.NoError(e.t, w.Close())
	req, err := http.NewRequest("POST", "http://"+info.Domain+"/", &body)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", "https://app.example")
	return e.do(req)
}

func formFields(info formInfo) []string {
	var ks []string
	for k := range info.Form {
		ks = append(ks, k)
	}
	return ks
}

// A form upload: the begin hands out a signed POST policy, COS stores the file from the form (204 with
// its ETag and CRC-64, readable cross-origin) and the confirm creates the file; nothing else is sent.
func TestFormUpload(t *testing.T) {
	inBothModes(t, func(t *testing.T, cfg emulator.Config) {
		e := start(t, cfg)
		data := randomBytes(100<<10, 31)
		info := e.beginForm("f.jpg")
		for _, k := range []string{"key", "acl", "Content-Type", "x-cos-security-token", "policy", "q-sign-algorithm",
			"q-ak", "q-key-time", "q-signature"} {
			assert.NotEmpty(t, info.Form[k], k)
		}
		assert.Equal(t, "image/jpeg", info.Form["Content-Type"])
		r := e.postForm(info, formFields(info), data)
		require.Equal(t, 204, r.status, "%s", r.body)
		assert.Equal(t, strconv.FormatUint(crc64.Checksum(data, ecma), 10), r.header.Get("x-cos-hash-crc64ecma"))
		assert.NotEmpty(t, r.header.Get("ETag"))
		assert.Equal(t, "https://app.example", r.header.Get("Access-Control-Allow-Origin"), "a simple request: no preflight, the answer readable")
		assert.Contains(t, r.header.Get("Access-Control-Expose-Headers"), "x-cos-hash-crc64ecma")
		c := e.confirm(info.ConfirmKey, "", nil)
		require.Equal(t, 200, c.status, "%s", c.body)
		got, err := e.srv.ReadFile(space, "f.jpg")
		require.NoError(t, err)
		assert.Equal(t, data, got)
		assert.Equal(t, map[string]int{"begin.form": 1, "object.post": 1, "object.peak": 1, "put.peak": 1, "confirm": 1},
			e.srv.Counts())
	})
}

// A form that is tampered with, incomplete, out of order or expired stores nothing.
func TestFormUploadRefused(t *testing.T) {
	e := start(t, emulator.Config{SignatureTTL: time.Hour})
	data := []byte("form bytes")
	cases := []struct {
		name   string
		edit   func(*formInfo) []string // the fields to send
		status int
		code   string
	}{
		{"signature", func(i *formInfo) []string {
			i.Form["q-signature"] = "00" + i.Form["q-signature"][2:]
			return formFields(*i)
		},
			403, "SignatureDoesNotMatch"},
		{"policy", func(i *formInfo) []string {
			i.Form["policy"] = base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2099-01-01T00:00:00Z","conditions":[]}`))
			return formFields(*i)
		}, 403, "SignatureDoesNotMatch"},
		{"a field the policy names", func(i *formInfo) []string { i.Form["acl"] = "public-read"; return formFields(*i) },
			403, "AccessDenied"},
		{"token", func(i *formInfo) []string { i.Form["x-cos-security-token"] = "x"; return formFields(*i) }, 403, "AccessDenied"},
		{"no signature", func(i *formInfo) []string {
			var ks []string
			for _, k := range formFields(*i) {
				if k != "q-signature" && k != "q-ak" {
					ks = append(ks, k)
				}
			}
			return ks
		}, 403, "SignatureDoesNotMatch"},
	}
	for n, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info := e.beginForm(fmt.Sprintf("r%d.bin", n))
			r := e.postForm(info, tc.edit(&info), data)
			assert.Equal(t, tc.status, r.status, "%s", r.body)
			assert.Equal(t, tc.code, r.cosErr(t).Code)
			c := e.confirm(info.ConfirmKey, "", nil)
			assert.NotEqual(t, 200, c.status, "nothing was stored: %s", c.body)
		})
	}
	t.Run("no file", func(t *testing.T) {
		info := e.beginForm("nofile.bin")
		r := e.postForm(info, formFields(info), nil)
		assert.Equal(t, 400, r.status)
	})
	t.Run("expired", func(t *testing.T) {
		info := e.beginForm("late.bin")
		e.clock.Advance(time.Hour)
		r := e.postForm(info, formFields(info), data)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "Request has expired", r.cosErr(t).Message)
		assert.Equal(t, 1, e.srv.Count("part.expired"))
	})
	t.Run("a PUT with the form's key", func(t *testing.T) {
		info := e.beginForm("put.bin")
		r := e.putPart(uploadInfo{Domain: info.Domain, Path: "/" + info.Form["key"]}, 1, data)
		assert.Equal(t, 403, r.status, "a form task takes no PUT")
	})
}
