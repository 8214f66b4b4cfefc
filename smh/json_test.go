package smh

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written decoders read what encoding/json read before them.
func TestDecodeJSONAsEncodingJSON(t *testing.T) {
	status := `{"confirmed":false,"path":["a","b.bin"],"force":true,"availableDomainNum":"3","uploadId":"u1",
		"parts":[{"PartNumber":1,"LastModified":"x","ETag":"\"e1\"","Size":1048576},{"partnumber":2,"size":5}],
		"uploadPartInfo":{"domain":"d.example","path":"/k","headers":{"Authorization":"q"},"confirmKey":"c",
		"expiration":"2026-12-06T20:00:00.5Z","availableDomainNum":2},"extra":{"nested":[1,2]},"type":null}`
	var got UploadStatus
	require.NoError(t, decodeJSON([]byte(status), &got))
	var want UploadStatus
	require.NoError(t, json.Unmarshal([]byte(status), &want))
	assert.Equal(t, want, got)
	assert.Equal(t, 2, got.Parts[1].PartNumber, "keys match ignoring case, as in encoding/json")
	assert.Equal(t, time.Date(2026, 12, 6, 20, 0, 0, 5e8, time.UTC), got.UploadPartInfo.Expiration)

	var lenient UploadStatus
	require.NoError(t, decodeJSON([]byte(`{"parts":[{"PartNumber":"2","Size":"5"}]}`), &lenient))
	assert.Equal(t, []UploadedPart{{PartNumber: 2, Size: 5}}, lenient.Parts, "numbers may come as strings, as with flexInt")

	fi := `{"path":["x"],"name":"x","size":12,"eTag":"e","crc64":"123","metaData":{"k":"v"}}`
	var f, wf FileInfo
	require.NoError(t, decodeJSON([]byte(fi), &f))
	require.NoError(t, json.Unmarshal([]byte(fi), &wf))
	assert.Equal(t, wf, f)

	for _, bad := range []string{`{"path":"a/b"}`, `{"size":"12x"}`, `{"metaData":{"k":1}}`, `[]`, `{"name":`} {
		assert.Error(t, decodeJSON([]byte(bad), &f), bad)
		assert.Error(t, json.Unmarshal([]byte(bad), &wf), bad)
	}
}

func TestEncodeJSON(t *testing.T) {
	assert.JSONEq(t, `{"beginningHash":"h","size":"3"}`, string(jsonObject("beginningHash", "h", "fullHash", "", "size", "3")))
	assert.Nil(t, jsonObject("crc64", ""), "nothing to send: no body")
	for _, s := range []string{"a\"b\\\x01\t\r\n\x1f", "é\U0001F600\u2028", "bad \xff utf-8"} {
		var got map[string]string
		require.NoError(t, json.Unmarshal(jsonObject("k", s), &got), "%q", s)
		want, err := json.Marshal(map[string]string{"k": s})
		require.NoError(t, err)
		assert.Equal(t, string(want), string(jsonObject("k", s)), "written as encoding/json writes it")
	}

	r := ResumeRecord{ConfirmKey: "c", PartSize: 1 << 20, Size: 5 << 20, Path: "/a \"b\"", Saved: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	var back, std ResumeRecord
	require.NoError(t, decodeJSON(r.encodeJSON(), &back))
	require.NoError(t, json.Unmarshal(r.encodeJSON(), &std))
	assert.Equal(t, r, back)
	assert.Equal(t, r, std, "records stay readable by encoding/json")
	for _, rec := range []ResumeRecord{r, {Done: true, Size: 3, Path: "/x", Saved: r.Saved,
		File: &FileInfo{Path: []string{"a", "x"}, Name: "x", Size: 3, CRC64: "9", MetaData: map[string]string{"b": "2", "a": "1"}}},
		{Done: true, File: &FileInfo{}}} {
		std, err := json.Marshal(rec)
		require.NoError(t, err)
		assert.Equal(t, string(std), string(rec.encodeJSON()), "written as encoding/json writes it")
		require.NoError(t, decodeJSON(rec.encodeJSON(), &back))
		assert.Equal(t, rec, back)
	}
	old, err := json.Marshal(r)
	require.NoError(t, err)
	require.NoError(t, decodeJSON(old, &back))
	assert.Equal(t, r, back, "records saved by earlier versions still load")
}

func TestErrorBodyRequestIDs(t *testing.T) {
	for body, id := range map[string]string{`{"code":"X","requestId":"a"}`: "a", `{"code":"X","reqId":"b"}`: "b",
		`{"code":"X","requestID":"c"}`: "c", `{"code":"X","smhRequestId":"d"}`: "d"} {
		var e errorBody
		require.NoError(t, decodeJSON([]byte(body), &e))
		assert.Equal(t, errorBody{Code: "X", RequestID: id}, e, body)
	}
}
