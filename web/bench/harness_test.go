//go:build !js

package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/nethttp"
)

// The harness's emulator behind a shaped link, over plain HTTP and over HTTPS: a Go client that trusts
// the harness's certificate (and offers HTTP/2, as Chromium does) uploads a small file through the
// link's proxies, and both hosts speak the leg's protocol, every request of the upload counted.
func TestHarnessProtocolThroughLink(t *testing.T) {
	for _, tc := range []struct {
		proto, scheme, want string
	}{
		{ProtoHTTP1, "http://", "HTTP/1.1"},
		{ProtoH2, "https://", "HTTP/2.0"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			link := Link{RTT: 20 * time.Millisecond, Mbit: 1000}
			h := &harness{cfg: Config{Link: &link}, tls: tc.proto == ProtoH2}
			stop, err := h.startEmulator()
			require.NoError(t, err)
			t.Cleanup(stop)
			require.NoError(t, h.emu.CreateDirectory("-", "bench"))
			assert.Regexp(t, "^"+tc.scheme+"127.0.0.1:", h.endpoint)
			assert.Regexp(t, "^"+tc.scheme+"127.0.0.1:", h.cosEndpoint)

			tr := &http.Transport{ForceAttemptHTTP2: true}
			if h.tls {
				require.NotNil(t, h.cert)
				pool := x509.NewCertPool()
				pool.AddCert(h.cert)
				tr.TLSClientConfig = &tls.Config{RootCAs: pool}
			} else {
				assert.Nil(t, h.cert)
			}
			t.Cleanup(tr.CloseIdleConnections)
			hc := &http.Client{Transport: tr}

			// An API call: the leg's protocol, and a round trip on an open connection takes the link's RTT
			// at least (a lower bound only: a loaded machine is slower, never faster).
			get := func() *http.Response {
				req, err := http.NewRequestWithContext(t.Context(), "GET", h.endpoint+"/api/v1/directory/"+h.emu.LibraryID()+"/-/bench?access_token="+benchToken, nil)
				require.NoError(t, err)
				resp, err := hc.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				return resp
			}
			resp := get()
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, tc.want, resp.Proto)
			start := time.Now()
			get()
			assert.GreaterOrEqual(t, time.Since(start), link.RTT, "through the link")

			// An upload: its begin on the API host, its PUT to the storage domain SMH hands out, which is
			// the COS host's proxy, and its confirm.
			c, err := smh.NewClient(smh.ClientConfig{Endpoint: h.endpoint, LibraryID: h.emu.LibraryID(), AccessToken: benchToken},
				&nethttp.Transport{Client: hc})
			require.NoError(t, err)
			data := bytes.Repeat([]byte("h2"), 8<<10)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			h.protos.take()
			tr.CloseIdleConnections() // the upload opens its own
			fi, err := smh.Upload(ctx, c, &nethttp.Transport{Client: hc}, smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))),
				smh.Options{Path: "bench/f.bin"})
			require.NoError(t, err)
			assert.EqualValues(t, len(data), fi.Size)
			stored, err := h.emu.FileInfo("-", "bench/f.bin")
			require.NoError(t, err)
			assert.Equal(t, smh.UpdateCRC64(0, data), stored.CRC64)
			seen, conns := h.protos.take()
			assert.Positive(t, seen["api "+tc.want], "%v", seen)
			assert.Positive(t, seen["cos "+tc.want], "%v", seen)
			assert.Equal(t, map[string]int{"api": 1, "cos": 1}, conns, "one connection to each host, kept alive")
			assert.Empty(t, protocolMismatch(tc.proto, NextHop{}, seen), "every request over %s", tc.proto)
		})
	}
}

// protocolMismatch names every request that did not speak the leg's protocol, on the server's side and
// as Chromium reports it.
func TestProtocolMismatch(t *testing.T) {
	assert.Empty(t, protocolMismatch(ProtoH2, NextHop{API: "h2", COS: "h2"}, map[string]int{"api HTTP/2.0": 5, "cos HTTP/2.0": 2}))
	assert.Empty(t, protocolMismatch(ProtoH2, NextHop{COS: "h2"}, map[string]int{"cos HTTP/2.0": 2}), "a host the uploader never calls")
	assert.Empty(t, protocolMismatch(ProtoHTTP1, NextHop{API: "http/1.1", COS: "http/1.1"}, map[string]int{"api HTTP/1.1": 3}))
	assert.Equal(t, `want h2, got 1 requests cos HTTP/1.1`,
		protocolMismatch(ProtoH2, NextHop{API: "h2", COS: "h2"}, map[string]int{"api HTTP/2.0": 5, "cos HTTP/1.1": 1, "cos HTTP/2.0": 1}))
	assert.Equal(t, `want h2, got Chromium's nextHopProtocol to the API host is "unknown"`,
		protocolMismatch(ProtoH2, NextHop{API: "unknown", COS: "h2"}, map[string]int{"api HTTP/2.0": 1}),
		"an entry without a protocol (no Timing-Allow-Origin) fails")
	assert.Equal(t, `want http/1.1, got 4 requests api HTTP/2.0, Chromium's nextHopProtocol to the COS host is "h2"`,
		protocolMismatch(ProtoHTTP1, NextHop{COS: "h2"}, map[string]int{"api HTTP/2.0": 4}))
}
