//go:build !js

package bench

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// This file is the shaped link: users' links are not loopback. Chromium reaches the emulator through
// in-process toxiproxy proxies (one per host) that add half the round-trip time in each direction and,
// toward the storage host, let the bytes of every connection together through at the link's rate; the
// start-up visits reach the page server through one whose rate holds the other way, the download. The
// kernel here has no netem qdisc, and tbf alone adds no latency.

// Link is a shaped path between the browser and the emulator.
type Link struct {
	RTT time.Duration
	// Mbit is the uplink's rate in megabits (10^6 bits) per second, shared by every connection.
	Mbit float64
}

// The links of `make bench BENCH_LINK=…`.
var Links = map[string]Link{
	"wan": {RTT: 40 * time.Millisecond, Mbit: 100},
	"lan": {RTT: 4 * time.Millisecond, Mbit: 1000},
}

// String is "40 ms RTT, 100 Mbit/s".
func (l Link) String() string {
	return fmt.Sprintf("%g ms RTT, %g Mbit/s", float64(l.RTT)/float64(time.Millisecond), l.Mbit)
}

// ParseLink reads a link's name (wan, lan) or "RTT,RATE" such as "40ms,100mbit".
func ParseLink(s string) (Link, error) {
	if l, ok := Links[strings.ToLower(s)]; ok {
		return l, nil
	}
	rtt, r, ok := strings.Cut(s, ",")
	d, err := time.ParseDuration(strings.TrimSpace(rtt))
	if !ok || err != nil || d < 0 {
		return Link{}, fmt.Errorf("bench: link %q: want wan, lan or RTT,RATE such as 40ms,100mbit", s)
	}
	mbit, err := strconv.ParseFloat(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(r)), "mbit"), 64)
	if err != nil || mbit <= 0 {
		return Link{}, fmt.Errorf("bench: link %q: want wan, lan or RTT,RATE such as 40ms,100mbit", s)
	}
	return Link{RTT: d, Mbit: mbit}, nil
}

// shaper is one link's proxies.
type shaper struct {
	proxies []*toxiproxy.Proxy
}

// The directions a link's rate can hold, in toxiproxy's names: the bytes toward the server (uploads) or
// back from it (a page's files).
const (
	rateUp   = "upstream"
	rateDown = "downstream"
)

// startLink starts a proxy on 127.0.0.1 for each upstream host:port and returns their addresses in the
// same order. Every proxy delays each direction by half the RTT; the first also holds direction
// (rateUp or rateDown) to the link's rate.
func startLink(l Link, direction string, upstreams ...string) (*shaper, []string, error) {
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	s := &shaper{}
	var addrs []string
	half := l.RTT.Milliseconds() / 2
	for i, up := range upstreams {
		p := toxiproxy.NewProxy(srv, fmt.Sprintf("link-%d", i), "127.0.0.1:0", up)
		if err := p.Start(); err != nil {
			s.stop()
			return nil, nil, fmt.Errorf("bench: link: %w", err)
		}
		s.proxies = append(s.proxies, p)
		var add []string
		if i == 0 {
			// The rate first, then the latency, which counts from when the rate let a chunk through.
			add = append(add, fmt.Sprintf(`{"name":"rate","type":%q,"stream":%q,"attributes":{"bytesPerSecond":%d}}`,
				linkRateType, direction, int64(l.Mbit*1e6/8)))
		}
		if half > 0 {
			add = append(add,
				fmt.Sprintf(`{"name":"up","type":"latency","stream":"upstream","attributes":{"latency":%d}}`, half),
				fmt.Sprintf(`{"name":"down","type":"latency","stream":"downstream","attributes":{"latency":%d}}`, half))
		}
		for _, j := range add {
			if _, err := p.Toxics.AddToxicJson(strings.NewReader(j)); err != nil {
				s.stop()
				return nil, nil, fmt.Errorf("bench: link: %w", err)
			}
		}
		addrs = append(addrs, p.Listen)
	}
	return s, addrs, nil
}

func (s *shaper) stop() {
	for _, p := range s.proxies {
		p.Stop()
	}
}

// linkRateType is the toxic that holds the bytes of all of a proxy's connections, together, to a rate.
// toxiproxy's own bandwidth toxic limits each connection on its own: four parts in flight would get four
// times the link.
const linkRateType = "smh_link_rate"

func init() { toxics.Register(linkRateType, new(linkRate)) }

// linkRate is one instance per proxy (toxiproxy makes one per toxic and runs its Pipe for every
// connection), so its limiter is the link's.
type linkRate struct {
	BytesPerSecond int64 `json:"bytesPerSecond"`

	once sync.Once
	lim  *rate.Limiter
}

// rateBurst is how many bytes may pass at once: 16 KiB, a few packets.
const rateBurst = 16 << 10

func (t *linkRate) limiter() *rate.Limiter {
	t.once.Do(func() { t.lim = rate.NewLimiter(rate.Limit(t.BytesPerSecond), rateBurst) })
	return t.lim
}

// Pipe passes every chunk on once the link's limiter has let its bytes through, stamped with the time it
// left, so that a latency toxic after it delays it from then.
func (t *linkRate) Pipe(stub *toxics.ToxicStub) {
	lim := t.limiter()
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			for left := len(c.Data); left > 0; {
				n := min(left, rateBurst)
				r := lim.ReserveN(time.Now(), n)
				select {
				case <-time.After(r.Delay()):
				case <-stub.Interrupt:
					r.Cancel()
					stub.Output <- c // don't drop what was read
					return
				}
				left -= n
			}
			stub.Output <- &stream.StreamChunk{Data: c.Data, Timestamp: time.Now()}
		}
	}
}
