package emulator

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// API returns the handler of the SMH API host (/api/v1/...).
func (e *Emulator) API() http.Handler { return http.HandlerFunc(e.serveAPI) }

// COS returns the handler of the COS storage host, which receives part and object PUTs. It is a separate
// host:port, like the real service.
func (e *Emulator) COS() http.Handler { return http.HandlerFunc(e.serveCOS) }

// Server runs an Emulator's two handlers on 127.0.0.1 ports chosen at run time.
type Server struct {
	*Emulator
	Endpoint    string // the API host, "http://127.0.0.1:p"
	COSEndpoint string // the COS host, "http://127.0.0.1:q"

	api, cos *http.Server
}

// Start starts an Emulator for cfg on two loopback listeners. When cfg.COSDomain is empty it is set to the
// COS listener's host:port.
func Start(cfg Config) (*Server, error) {
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cosLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	if cfg.COSDomain == "" {
		cfg.COSDomain = cosLn.Addr().String()
	}
	e, err := New(cfg)
	if err != nil {
		apiLn.Close()
		cosLn.Close()
		return nil, err
	}
	s := &Server{
		Emulator:    e,
		Endpoint:    "http://" + apiLn.Addr().String(),
		COSEndpoint: "http://" + cosLn.Addr().String(),
		api:         &http.Server{Handler: e.API(), ReadHeaderTimeout: 30 * time.Second},
		cos:         &http.Server{Handler: e.COS(), ReadHeaderTimeout: 30 * time.Second},
	}
	go s.api.Serve(apiLn)
	go s.cos.Serve(cosLn)
	return s, nil
}

// Close stops both listeners and closes every connection; stalled parts and latency waits return. Hijacked
// connections (ResetParts) are closed as soon as they are taken over, so none outlive Close.
func (s *Server) Close() error {
	s.Emulator.shutdown()
	return errors.Join(s.api.Close(), s.cos.Close())
}
