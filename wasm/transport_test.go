//go:build js && wasm

package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"hash/crc64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
)

// The browser transports read what the engine needs from cross-origin
// answers: Date from both hosts (the Client learns the server's clock
// offset from it), and ETag and x-cos-hash-crc64ecma from the storage host;
// the part CRC is computed from the Blob while the XHR sends it.
func TestTransportsReadWhatTheEngineNeeds(t *testing.T) {
	e := newEmu(t, emuConfig{Skew: "1h"})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := smh.NewClient(smh.ClientConfig{Endpoint: e.Endpoint, LibraryID: e.LibraryID, AccessToken: e.Token}, fetchDoer{})
	require.NoError(t, err)
	res, err := c.BeginMultipart(ctx, smh.BeginOptions{Path: "t.bin", Size: 3 * MiB})
	require.NoError(t, err)
	require.NotNil(t, res.Upload)
	assert.InDelta(t, float64(time.Hour), float64(c.ServerNow().Sub(time.Now())), float64(5*time.Second),
		"the offset was learned from the API host's Date")

	body := newBlobBody(generated(3*MiB, 12, "t.bin"))
	u := res.Upload
	h := smh.Header{}
	for k, v := range u.Headers {
		h.Set(k, v)
	}
	req := &smh.PutRequest{URL: e.partURL(u, 2), Header: h, Body: body, Offset: MiB, Length: MiB}
	resp, err := xhrPutter{}.Put(ctx, req)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(resp.Body))
	assert.NotEmpty(t, resp.Header.Get("date"), "Date is exposed by the storage host")
	require.True(t, resp.Hashed)
	assert.Equal(t, resp.Header.Get("x-cos-hash-crc64ecma"), smh.FormatCRC64(resp.CRC64), "the part CRC matches storage's")

	sum, err := body.Sum(ctx, MiB, MiB)
	require.NoError(t, err)
	assert.Equal(t, resp.CRC64, sum.CRC64)
	assert.Equal(t, strings.Trim(resp.Header.Get("etag"), `"`), hex.EncodeToString(sum.MD5[:]), "Sum's MD5 is the ETag")
	whole, err := body.Sum(ctx, 0, 3*MiB)
	require.NoError(t, err)
	assert.Equal(t, expectedCRC(t, 3*MiB, 12), smh.FormatCRC64(whole.CRC64))

	// A part whose run has ended is not sent.
	done, stop := context.WithCancel(ctx)
	stop()
	_, err = xhrPutter{}.Put(done, &smh.PutRequest{URL: e.partURL(u, 3), Header: h, Body: body, Offset: 2 * MiB, Length: MiB})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, e.counts()["part"])
	require.NoError(t, c.CancelUpload(ctx, u.ConfirmKey))
}

func (e *emu) partURL(u *smh.UploadInfo, n int) string {
	return "http://" + u.Domain + u.Path + "?partNumber=" + strconv.Itoa(n) + "&uploadId=" + url.QueryEscape(u.UploadID)
}

// Both ways of hashing a Blob range, the BYOB stream and the chunked
// arrayBuffer() fallback, give the CRC-64 and MD5 of the bytes that ReadAt
// returns, for ranges that start and end inside the 1 MiB steps.
func TestBlobHashingPaths(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	body := newBlobBody(generated(6*MiB, 5, "h.bin"))
	for _, r := range []struct{ off, n int64 }{{0, 6 * MiB}, {777, 2*MiB + 13}, {MiB, MiB}, {5 * MiB, 1}} {
		want := make([]byte, r.n)
		_, err := body.ReadAt(want, r.off)
		require.NoError(t, err)
		wantCRC := crc64.Checksum(want, smh.ECMATable)
		wantMD5 := md5.Sum(want)
		for _, streams := range []bool{true, false} {
			blobStreams = streams
			sum, err := body.Sum(ctx, r.off, r.n)
			blobStreams = true
			require.NoError(t, err)
			assert.Equal(t, wantCRC, sum.CRC64, "CRC-64 of %+v, streams %v", r, streams)
			assert.Equal(t, wantMD5, sum.MD5, "MD5 of %+v, streams %v", r, streams)
		}
	}
	_, err := body.Sum(ctx, 5*MiB, 2*MiB) // past the end: the slice is short
	assert.ErrorIs(t, err, smh.ErrSourceRead)
	blobStreams = false
	_, err = body.Sum(ctx, 5*MiB, 2*MiB)
	blobStreams = true
	assert.ErrorIs(t, err, smh.ErrSourceRead)
}
