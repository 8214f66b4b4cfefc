//go:build !js

package main

import (
	"bytes"
	"encoding/json"
	"hash/crc64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
)

func TestFilterDropsOnlyTheKnownProtocolLines(t *testing.T) {
	in := strings.Join([]string{
		"=== RUN   TestX",
		"2026/11/25 17:00:00 ERROR: could not unmarshal event: unknown IPAddressSpace value: Loopback",
		"could not unmarshal event: parse error: unknown IPAddressSpace value: Local near offset 1",
		"2026/11/25 17:00:00 ERROR: could not unmarshal event: unknown PrivateNetworkRequestPolicy value: X",
		"--- FAIL: TestX (0.00s)",
		"    x_test.go:1: could not unmarshal event: unknown IPAddressSpace value: Loopback is what the test printed",
		"FAIL",
	}, "\n") + "\n"
	var out bytes.Buffer
	filter(strings.NewReader(in), &out)
	assert.Equal(t, strings.Join([]string{
		"=== RUN   TestX",
		"2026/11/25 17:00:00 ERROR: could not unmarshal event: unknown PrivateNetworkRequestPolicy value: X",
		"--- FAIL: TestX (0.00s)",
		"    x_test.go:1: could not unmarshal event: unknown IPAddressSpace value: Loopback is what the test printed",
		"FAIL",
	}, "\n")+"\n", out.String())
}

func TestGeneratedStreamRepeatsWithItsPeriod(t *testing.T) {
	size := int64(period + 3<<20)
	b := make([]byte, size)
	x := uint32(9)
	for i := range b {
		if i%period == 0 {
			x = 9
		}
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	for _, n := range []int64{0, 1, 1 << 20, period, size} {
		assert.Equal(t, crc64.Checksum(b[:n], smh.ECMATable), generatedCRC(n, 9), "size %d", n)
	}
}

func TestChildEnvKeepsWhatGoNeedsAndFitsTheLimit(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("SOME_CI_SECRET_LOOKING_VARIABLE", strings.Repeat("x", 9000))
	env := childEnv("/tmp/w", "http://127.0.0.1:1")
	joined := strings.Join(env, "\n")
	assert.Contains(t, env, "GOOS=js")
	assert.Contains(t, env, "GOARCH=wasm")
	assert.Contains(t, env, "GOFLAGS=-mod=mod")
	assert.Contains(t, env, "SMH_CONTROL_URL=http://127.0.0.1:1")
	assert.True(t, strings.HasPrefix(env[0], "PATH=/tmp/w:"))
	assert.NotContains(t, joined, "SOME_CI_SECRET_LOOKING_VARIABLE")
}

func TestReplaceSectionWritesBetweenTheMarkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	head := "# x\n\n<!-- matrix:begin -->\nnative\n<!-- matrix:end -->\n\n"
	tail := "\n## next\n"
	require.NoError(t, os.WriteFile(path, []byte(head+matrixBegin+"\nold\nrows\n"+matrixEnd+tail), 0o644))
	require.NoError(t, replaceSection(path, "| a |\n|---|\n| 1 |\n"))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, head+matrixBegin+"\n| a |\n|---|\n| 1 |\n"+matrixEnd+tail, string(b))

	require.NoError(t, os.WriteFile(path, []byte("no markers\n"), 0o644))
	assert.Error(t, replaceSection(path, "x"))
}

func TestWriteReadmeNeedsTheVariable(t *testing.T) {
	rec := httptest.NewRecorder()
	newControl("", "", "").ServeHTTP(rec, httptest.NewRequest("POST", "/matrix-readme", strings.NewReader(`{"section":"x"}`)))
	assert.Equal(t, http.StatusConflict, rec.Code)
}

// The fronts count what reaches the emulator and fire API rules; a barrier
// lets its parts go only together.
func TestFrontCountsAndHolds(t *testing.T) {
	ctl := newControl("", "", "")
	defer ctl.closeAll()
	srv := httptest.NewServer(ctl)
	defer srv.Close()
	var em struct{ ID, Endpoint, LibraryID, AccessToken, LibrarySecret string }
	post(t, srv.URL+"/emulators", `{}`, &em)
	require.NotEmpty(t, em.LibrarySecret)
	e := ctl.emus[em.ID]

	post(t, srv.URL+"/emulators/"+em.ID+"/rules", `[{"api":"renew","action":"hold"}]`, nil)
	url := em.Endpoint + "/api/v1/file/" + em.LibraryID + "/-/k?renew&access_token=" + em.AccessToken
	done := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"x":1}`))
		if assert.NoError(t, err) {
			resp.Body.Close()
			done <- resp.StatusCode
		}
	}()
	resp, err := http.Get(srv.URL + "/emulators/" + em.ID + "/held?api=renew")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Zero(t, e.Count("renew"), "held before the emulator")
	post(t, srv.URL+"/emulators/"+em.ID+"/release", ``, nil)
	assert.Equal(t, 1, e.Count("renew"), "release waits for the held call to be answered")
	assert.Equal(t, http.StatusNotFound, <-done)
	assert.EqualValues(t, 1, e.requests.Load())
	assert.EqualValues(t, len(`{"x":1}`), e.bytes.Load())

	post(t, srv.URL+"/emulators/"+em.ID+"/barrier", `{"parts":2,"action":"expire"}`, nil)
	arrived := make(chan struct{})
	go func() { e.onPart(emulator.PartInfo{PartNumber: 1}); close(arrived) }()
	select {
	case <-arrived:
		t.Fatal("the first part went on alone")
	case <-time.After(50 * time.Millisecond):
	}
	e.onPart(emulator.PartInfo{PartNumber: 2})
	<-arrived
	e.onPart(emulator.PartInfo{PartNumber: 3}) // past the barrier: does not wait
}

func post(t *testing.T, url, body string, out any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, url)
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
}
