//go:build !js

package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLink(t *testing.T) {
	for in, want := range map[string]Link{
		"wan":          {RTT: 40 * time.Millisecond, Mbit: 100},
		"LAN":          {RTT: 4 * time.Millisecond, Mbit: 1000},
		"40ms,100mbit": {RTT: 40 * time.Millisecond, Mbit: 100},
		"1ms, 2.5":     {RTT: time.Millisecond, Mbit: 2.5},
	} {
		got, err := ParseLink(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "moon", "40ms", "40ms,0", "x,100mbit", "-1ms,100mbit"} {
		_, err := ParseLink(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "40 ms RTT, 100 Mbit/s", Links["wan"].String())
}

// TestLinkShapes sends through a link to a server that answers each line, for each direction its rate
// can hold: a round trip takes at least the RTT, and the bytes sent toward the server (the storage host's
// proxy) or back from it (the page server's) pass at most at the link's rate, shared by every connection.
// Only lower bounds are checked: a loaded machine makes both slower, never faster.
func TestLinkShapes(t *testing.T) {
	const size = 256_000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	// A line "get" is answered with size bytes and "ok", any other line with "ok".
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReaderSize(c, 64<<10)
				for {
					line, err := r.ReadSlice('\n')
					if err == bufio.ErrBufferFull {
						continue
					}
					if err != nil {
						return
					}
					if string(line) == "get\n" {
						c.Write(make([]byte, size))
					}
					c.Write([]byte("ok\n"))
				}
			}()
		}
	}()
	for _, direction := range []string{rateUp, rateDown} {
		t.Run(direction, func(t *testing.T) {
			l := Link{RTT: 40 * time.Millisecond, Mbit: 8} // 1 MB/s
			sh, addrs, err := startLink(l, direction, ln.Addr().String())
			require.NoError(t, err)
			defer sh.stop()

			dial := func() net.Conn {
				c, err := net.Dial("tcp", addrs[0])
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				return c
			}
			// roundTrip sends a line and reads its answer, "ok" at its end: with big, size bytes in the
			// rate's direction. It returns its error rather than failing, as it also runs off the test's
			// goroutine.
			roundTrip := func(c net.Conn, big bool) (time.Duration, error) {
				start := time.Now()
				line, want := []byte("ping\n"), 3
				switch {
				case big && direction == rateUp:
					line = append(make([]byte, size), '\n')
				case big:
					line, want = []byte("get\n"), size+3
				}
				if _, err := c.Write(line); err != nil {
					return 0, err
				}
				ans := make([]byte, want)
				if _, err := io.ReadFull(c, ans); err != nil {
					return 0, err
				}
				if got := string(ans[want-3:]); got != "ok\n" {
					return 0, fmt.Errorf("answer ends %q, not ok", got)
				}
				return time.Since(start), nil
			}
			c := dial()
			d, err := roundTrip(c, false)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, d, l.RTT, "one round trip")

			// 256 KB on each of two connections at once: 512 KB through a 1 MB/s link take at least 0.5 s.
			done := make(chan error, 2)
			start := time.Now()
			for _, c := range []net.Conn{c, dial()} {
				go func() {
					_, err := roundTrip(c, true)
					done <- err
				}()
			}
			require.NoError(t, <-done)
			require.NoError(t, <-done)
			assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "the rate is the link's, shared")
		})
	}
}

// TestStartupPath checks that the start-up visits come through a shaped link when there is one, with its
// rate on the download: a page of 256 KB through a 1 MB/s link takes at least the RTT and the time the
// rate lets its bytes through after the first burst, and reaches the server. Without a link they reach the server straight.
func TestStartupPath(t *testing.T) {
	page := make([]byte, 256_000)
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write(page)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	get := func(u string) time.Duration {
		start := time.Now()
		res, err := http.Get(u + "startup")
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Len(t, b, len(page))
		return time.Since(start)
	}

	h := &harness{}
	stop, err := h.startupPath(addr)
	require.NoError(t, err)
	stop()
	assert.Equal(t, "http://"+addr+"/", h.startupURL, "no link: straight to the page server")

	l := Link{RTT: 40 * time.Millisecond, Mbit: 8} // 1 MB/s
	h = &harness{cfg: Config{Link: &l}}
	stop, err = h.startupPath(addr)
	require.NoError(t, err)
	defer stop()
	require.NotEqual(t, "http://"+addr+"/", h.startupURL)
	atRate := time.Duration(len(page)-rateBurst) * time.Second / 1_000_000
	assert.GreaterOrEqual(t, get(h.startupURL), l.RTT+atRate, "the page came through the link's download rate")
	assert.Equal(t, int32(1), served.Load())
}
