package emulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API returns the handler of the SMH API host (/api/v1/...).
func (e *Emulator) API() http.Handler { return http.HandlerFunc(e.serveAPI) }

// COS returns the handler of the COS storage host, which receives part and object PUTs and serves
// downloads. It is a separate host:port, like the real service.
func (e *Emulator) COS() http.Handler { return http.HandlerFunc(e.serveCOS) }

// Server runs an Emulator's two handlers on their own listeners (Config.Addr and Config.COSAddr, by default
// 127.0.0.1 ports chosen at run time), over HTTPS when Config.TLS is set.
type Server struct {
	*Emulator
	Endpoint    string // the API host, "http://127.0.0.1:p" ("https://…" with TLS)
	COSEndpoint string // the COS host, "http://127.0.0.1:q" ("https://…" with TLS)
	// Certificate is the self-signed certificate both hosts present with Config.TLS; nil without.
	Certificate *x509.Certificate

	api, cos *http.Server
	client   *http.Client
}

// Start starts an Emulator for cfg on two listeners. When cfg.COSDomain is empty it is set to the COS
// listener's host:port.
func Start(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: addr: %w", err)
	}
	if cfg.COSAddr == "" {
		cfg.COSAddr = net.JoinHostPort(host, "0")
	}
	apiLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	cosLn, err := net.Listen("tcp", cfg.COSAddr)
	if err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("emulator: %w", err)
	}
	closeBoth := func() { apiLn.Close(); cosLn.Close() }
	apiHost, cosHost := advertised(apiLn.Addr()), advertised(cosLn.Addr())
	if cfg.COSDomain == "" {
		cfg.COSDomain = cosHost
	}
	e, err := New(cfg)
	if err != nil {
		closeBoth()
		return nil, err
	}
	s := &Server{
		Emulator:    e,
		Endpoint:    "http://" + apiHost,
		COSEndpoint: "http://" + cosHost,
		api:         newHTTPServer(cfg.Log, "api", e.API()),
		cos:         newHTTPServer(cfg.Log, "cos", e.COS()),
	}
	tr := &http.Transport{ForceAttemptHTTP2: true}
	if cfg.TLS {
		var hosts []string
		for _, a := range []string{cfg.Addr, cfg.COSAddr} {
			if h, _, _ := net.SplitHostPort(a); h != "" {
				if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
					hosts = append(hosts, h)
				}
			}
		}
		cert, err := NewCertificate(hosts...)
		if err != nil {
			closeBoth()
			return nil, err
		}
		s.Certificate = cert.Leaf
		s.Endpoint, s.COSEndpoint = "https://"+apiHost, "https://"+cosHost
		for _, hs := range []*http.Server{s.api, s.cos} {
			hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		pool := x509.NewCertPool()
		pool.AddCert(cert.Leaf)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		go s.api.ServeTLS(apiLn, "", "")
		go s.cos.ServeTLS(cosLn, "", "")
	} else {
		go s.api.Serve(apiLn)
		go s.cos.Serve(cosLn)
	}
	s.client = &http.Client{Transport: tr}
	return s, nil
}

// advertised is the host:port clients use for a listener: an unspecified host (all interfaces) is
// reached on 127.0.0.1.
func advertised(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := ta.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(ta.Port))
}

// CertificatePEM returns Certificate PEM-encoded (nil without TLS), e.g. for NODE_EXTRA_CA_CERTS or a
// browser's trust store.
func (s *Server) CertificatePEM() []byte {
	if s.Certificate == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate.Raw})
}

// Client returns an HTTP client for both hosts: with TLS it trusts Certificate. Its idle connections are
// closed by Close and Shutdown.
func (s *Server) Client() *http.Client { return s.client }

// Close stops both listeners and closes every connection; stalled parts and latency waits return. Hijacked
// connections (ResetParts) are closed as soon as they are taken over, so none outlive Close.
func (s *Server) Close() error {
	s.Emulator.shutdown()
	s.client.CloseIdleConnections()
	return errors.Join(s.api.Close(), s.cos.Close())
}

// Shutdown stops both listeners and waits for the requests in flight (a confirm writing its file, say) to
// finish; stalled parts and latency waits end at once. If ctx ends first it closes everything, as Close,
// and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Emulator.shutdown()
	s.client.CloseIdleConnections()
	errc := make(chan error, 2)
	for _, hs := range []*http.Server{s.api, s.cos} {
		go func() { errc <- hs.Shutdown(ctx) }()
	}
	err := errors.Join(<-errc, <-errc)
	if err != nil {
		return errors.Join(err, s.api.Close(), s.cos.Close())
	}
	return nil
}

func newHTTPServer(log *slog.Logger, host string, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           logged(log, host, h),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          stdlog.New(serverErrors{log}, "", 0),
	}
}

// serverErrors receives net/http's own error lines. TLS handshake failures are expected with a
// self-signed certificate (every client that does not trust it yet) and would only be noise on stderr:
// they go to Config.Log at debug level. Everything else keeps net/http's default, the standard logger,
// or goes to Config.Log as an error.
type serverErrors struct{ log *slog.Logger }

func (w serverErrors) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	switch {
	case strings.Contains(msg, "TLS handshake error"):
		if w.log != nil {
			w.log.Debug("http server", "error", msg)
		}
	case w.log != nil:
		w.log.Error("http server", "error", msg)
	default:
		stdlog.Print(msg)
	}
	return len(p), nil
}

// ---- request log ----

// logged wraps h to log one line per request when log is set.
func logged(log *slog.Logger, host string, h http.Handler) http.Handler {
	if log == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		t0 := time.Now()
		defer func() {
			// Runs also when the handler aborts the request (a panic that net/http turns into a dropped
			// connection); status 0 says no answer was sent.
			log.Info("request", "host", host, "method", r.Method, "url", redactURL(r.URL), "status", rec.status,
				"bytes", rec.n, "duration", time.Since(t0).Round(time.Microsecond))
		}()
		h.ServeHTTP(rec, r)
	})
}

// recorder notes the status and body size of an answer. Unwrap keeps http.ResponseController (Hijack,
// Flush) working through it.
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// redactURL drops the secrets from a request URL: access tokens, the library secret, signatures and
// session tokens in the query, and the token in the path of token renew and delete.
func redactURL(u *url.URL) string {
	p := u.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/v1/token/"); ok {
		if lib, _, ok := strings.Cut(rest, "/"); ok {
			p = "/api/v1/token/" + lib + "/REDACTED"
		}
	}
	q := u.Query()
	for k := range q {
		switch strings.ToLower(k) {
		case "access_token", "library_secret", "q-signature", "sign", "x-cos-security-token":
			q.Set(k, "REDACTED")
		}
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}
