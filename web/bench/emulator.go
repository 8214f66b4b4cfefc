//go:build !js

package bench

import (
	"bytes"
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/smhupload/smh-upload/smh/emulator"
)

// The emulator a run uploads to: behind the shaped link, over HTTPS for
// HTTP/2, and the protocols and connections it saw.

// startEmulator starts the emulator on 127.0.0.1, behind the shaped link when Config.Link is set: the
// page then reaches both hosts through the link's proxies, and the storage domain SMH hands out for parts
// is the proxy's. With h.tls both hosts speak HTTPS with a throwaway certificate (h.cert), and so
// HTTP/2 to a client that offers it by ALPN, as Chromium does; the link's proxies pass TCP through, TLS
// and all.
func (h *harness) startEmulator() (stop func(), err error) {
	var lns []net.Listener
	var servers []*http.Server
	var sh *shaper
	stop = func() {
		if sh != nil {
			sh.stop()
		}
		for _, s := range servers {
			s.Close()
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
	}
	cosLn, apiLn := lns[0], lns[1]
	cosAddr, apiAddr := cosLn.Addr().String(), apiLn.Addr().String()
	if h.cfg.Link != nil {
		var addrs []string
		if sh, addrs, err = startLink(*h.cfg.Link, rateUp, cosAddr, apiAddr); err != nil {
			return nil, err
		}
		cosAddr, apiAddr = addrs[0], addrs[1]
	}
	e, err := emulator.New(emulator.Config{Discard: true, AccessToken: benchToken, COSSecretID: cosSecretID, COSSecretKey: cosSecret,
		COSDomain: cosAddr, TLS: h.tls})
	if err != nil {
		return nil, err
	}
	scheme := "http://"
	var tlsCfg *tls.Config
	if h.tls {
		cert, err := emulator.NewCertificate()
		if err != nil {
			return nil, err
		}
		h.cert, scheme = cert.Leaf, "https://"
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	h.protos = &protoTally{}
	for _, hs := range []struct {
		ln      net.Listener
		host    string
		handler http.Handler
	}{{cosLn, "cos", e.COS()}, {apiLn, "api", e.API()}} {
		// A tls.Config each: ServeTLS writes the HTTP/2 defaults into its server's.
		s := &http.Server{Handler: h.protos.wrap(hs.host, hs.handler), ReadHeaderTimeout: 30 * time.Second, TLSConfig: tlsCfg.Clone(),
			ErrorLog: log.New(handshakeNoise{}, "", 0), ConnState: h.protos.connState(hs.host)}
		servers = append(servers, s)
		if tlsCfg != nil {
			go s.ServeTLS(hs.ln, "", "") // adds h2 to the offered protocols
		} else {
			go s.Serve(hs.ln)
		}
	}
	h.emu, h.cosEndpoint, h.endpoint = e, scheme+cosAddr, scheme+apiAddr
	return stop, nil
}

// handshakeNoise is the emulator's servers' error log. Chromium closes some connections before their TLS
// handshake ends ("TLS handshake error … EOF"), which fails no run (the protocol tally and the stored
// files are a run's checks): those lines are dropped, the rest go to the standard logger.
type handshakeNoise struct{}

func (handshakeNoise) Write(p []byte) (int, error) {
	if !bytes.Contains(p, []byte("TLS handshake error")) {
		log.Print(string(p))
	}
	return len(p), nil
}

// protoTally counts the requests each host received by HTTP version, so that a run can show which
// protocol it really spoke, preflights included, and the connections the browser opened to each (through
// the link, one proxied connection each).
type protoTally struct {
	mu    sync.Mutex
	n     map[string]int // "api HTTP/2.0": requests
	conns map[string]int // "api": connections
}

// connState counts host's new connections.
func (p *protoTally) connState(host string) func(net.Conn, http.ConnState) {
	return func(_ net.Conn, st http.ConnState) {
		if st != http.StateNew {
			return
		}
		p.mu.Lock()
		if p.conns == nil {
			p.conns = map[string]int{}
		}
		p.conns[host]++
		p.mu.Unlock()
	}
}

// wrap counts next's requests as host's. Its answers carry Timing-Allow-Origin, so that the page's
// Resource Timing entries of the other origin show their nextHopProtocol, which Chromium leaves empty
// for a cross-origin resource without it; CORS and preflights do not look at it.
func (p *protoTally) wrap(host string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if p.n == nil {
			p.n = map[string]int{}
		}
		p.n[host+" "+r.Proto]++
		p.mu.Unlock()
		w.Header().Set("Timing-Allow-Origin", "*")
		next.ServeHTTP(w, r)
	})
}

// take returns the counts of requests and of connections since the last take and starts again from
// zero.
func (p *protoTally) take() (requests, conns map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	requests, conns = p.n, p.conns
	p.n, p.conns = nil, nil
	return requests, conns
}
