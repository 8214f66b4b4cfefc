// Package web is the demo: a page that uploads with the browser module, a
// token broker that hands the page short-lived upload-only tokens, and, when
// no real library is configured, the embedded emulator on the same origin.
// The handler is plain net/http, served natively by cmd/smh-demo and as a
// Cloudflare Worker by cmd/smh-worker.
package web

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/smhupload/smh-upload/smh"
)

// Emulator is what the demo needs of *emulator.Emulator. An interface keeps
// the emulator out of the Worker build, which cannot host it anyway.
type Emulator interface {
	API() http.Handler
	COS() http.Handler
	LibraryID() string
	LibrarySecret() string
	SetSignatureTTL(time.Duration)
	ExpireSignatures()
	FailParts(n int, status int, code string, retryAfter time.Duration)
}

// Mount points of the embedded emulator: its API, and the storage host that
// part PUTs go to (the emulator's COS domain is "host/cos").
const (
	EmulatorAPIPrefix = "/smh"
	EmulatorCOSPrefix = "/cos"
)

// Config configures the demo handler. With SMHEndpoint, LibraryID and
// LibrarySecret set it brokers tokens for that real library; otherwise it
// runs against Emulator; with neither it serves the page and answers the API
// with 503 NotConfigured (a Worker cannot host the stateful emulator: it
// starts a fresh Go instance for every request).
type Config struct {
	SMHEndpoint   string
	LibraryID     string
	LibrarySecret string // stays on the server: never in a response, a log line or an error
	SpaceID       string
	// Doer reaches SMH for tokens in real mode (natively smh/nethttp, in a
	// Worker fetch). Emulator mode calls the emulator in process.
	Doer     smh.Doer
	Emulator Emulator
	// TokenPeriod is the lifetime of brokered tokens; default 30 minutes
	// (SMH raises anything below 20 minutes to 20).
	TokenPeriod time.Duration
	Log         *slog.Logger
	// Assets is the page (package page, or a folder); nil serves no page,
	// as in the Worker, where Cloudflare serves the page's files itself.
	Assets fs.FS
}

// New returns the demo handler.
func New(cfg Config) (http.Handler, error) {
	real := cfg.SMHEndpoint != "" || cfg.LibraryID != "" || cfg.LibrarySecret != ""
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.TokenPeriod == 0 {
		cfg.TokenPeriod = 30 * time.Minute
	}
	if cfg.SpaceID == "" {
		cfg.SpaceID = "-"
	}
	s := &server{cfg: cfg, real: real}
	switch {
	case real && (cfg.SMHEndpoint == "" || cfg.LibraryID == "" || cfg.LibrarySecret == ""):
		return nil, errors.New("web: real SMH mode needs SMH_ENDPOINT, SMH_LIBRARY_ID and SMH_LIBRARY_SECRET")
	case real && cfg.Doer == nil:
		return nil, errors.New("web: real SMH mode needs a Doer")
	}
	mux := http.NewServeMux()
	if cfg.Assets != nil {
		mux.Handle("/", StaticHandler(cfg.Assets))
	}
	if !real && cfg.Emulator == nil {
		mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusServiceUnavailable, "NotConfigured",
				"set SMH_ENDPOINT, SMH_LIBRARY_ID and the secret SMH_LIBRARY_SECRET")
		})
		return mux, nil
	}
	endpoint, lib, secret, doer := cfg.SMHEndpoint, cfg.LibraryID, cfg.LibrarySecret, cfg.Doer
	if !real {
		// The broker asks the emulator exactly as it would ask SMH, in process.
		endpoint, lib, secret = "http://emulator.invalid", cfg.Emulator.LibraryID(), cfg.Emulator.LibrarySecret()
		doer = handlerDoer{cfg.Emulator.API()}
	}
	tc, err := smh.NewTokenClient(endpoint, lib, secret, doer)
	if err != nil {
		return nil, err
	}
	s.tokens = tc
	mux.HandleFunc("GET /api/config", s.config)
	mux.HandleFunc("POST /api/token", s.token)
	mux.HandleFunc("/api/token", methodNotAllowed)
	if !real {
		mux.HandleFunc("POST /api/emulator", s.emulatorControl)
		mux.Handle(EmulatorAPIPrefix+"/", http.StripPrefix(EmulatorAPIPrefix, cfg.Emulator.API()))
		mux.Handle(EmulatorCOSPrefix+"/", http.StripPrefix(EmulatorCOSPrefix, cfg.Emulator.COS()))
	}
	return mux, nil
}

type server struct {
	cfg    Config
	real   bool
	tokens *smh.TokenClient
}

// origin is the scheme and host the page used to reach us.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type configJSON struct {
	Mode      string `json:"mode"` // "emulator" or "smh"
	Endpoint  string `json:"endpoint"`
	LibraryID string `json:"libraryId"`
	SpaceID   string `json:"spaceId"`
}

func (s *server) config(w http.ResponseWriter, r *http.Request) {
	c := configJSON{Mode: "smh", Endpoint: s.cfg.SMHEndpoint, LibraryID: s.cfg.LibraryID, SpaceID: s.cfg.SpaceID}
	if !s.real {
		c = configJSON{Mode: "emulator", Endpoint: origin(r) + EmulatorAPIPrefix, LibraryID: s.cfg.Emulator.LibraryID(), SpaceID: "-"}
	}
	writeJSON(w, http.StatusOK, c)
}

type tokenRequest struct {
	Grant []string `json:"grant"`
}

// token hands out a short-lived token that can only upload. A request for
// any other grant is refused: the broker must not become a way to read,
// delete or administer the library.
func (s *server) token(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, "BadRequest", "the body is not JSON")
			return
		}
	}
	for _, g := range req.Grant {
		if !slices.Contains(smh.UploadGrants, g) {
			s.cfg.Log.Warn("token request refused", "grant", g)
			writeError(w, http.StatusForbidden, "GrantNotAllowed", "this broker only issues upload tokens")
			return
		}
	}
	tok, err := s.tokens.Create(r.Context(), smh.TokenOptions{Grant: smh.UploadGrants, Period: s.cfg.TokenPeriod, SpaceID: s.spaceForToken()})
	if err != nil {
		var se *smh.Error
		code, status := "TokenBrokerError", 0
		if errors.As(err, &se) {
			code, status = se.Code, se.Status
		}
		// Only the code and status: the message is SMH's, scrubbed already, but logs stay minimal.
		s.cfg.Log.Error("SMH refused a token", "code", code, "status", status)
		writeError(w, http.StatusBadGateway, code, "SMH refused the token request ("+code+"); check the library id and secret")
		return
	}
	s.cfg.Log.Info("token issued", "expiresIn", tok.ExpiresIn)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tok)
}

func (s *server) spaceForToken() string {
	if s.cfg.SpaceID == "-" {
		return ""
	}
	return s.cfg.SpaceID
}

type emulatorRequest struct {
	TTLSeconds       int    `json:"ttlSeconds"`       // part signature lifetime from now on; 0 keeps it
	ExpireSignatures bool   `json:"expireSignatures"` // every signature issued so far expires now
	FailParts        int    `json:"failParts"`        // the next N part PUTs fail …
	FailStatus       int    `json:"failStatus"`       // … with this status (default 503)
	Fault            string `json:"fault"`            // optional code for the failure
}

// emulatorControl lets the page shorten signatures and inject faults, so a
// visitor can watch a renewal or a retry happen.
func (s *server) emulatorControl(w http.ResponseWriter, r *http.Request) {
	var req emulatorRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "the body is not JSON")
		return
	}
	e := s.cfg.Emulator
	if req.TTLSeconds < 0 || req.FailParts < 0 || req.FailParts > 100 {
		writeError(w, http.StatusBadRequest, "BadRequest", "ttlSeconds and failParts must be small non-negative numbers")
		return
	}
	if req.TTLSeconds > 0 {
		e.SetSignatureTTL(time.Duration(req.TTLSeconds) * time.Second)
	}
	if req.ExpireSignatures {
		e.ExpireSignatures()
	}
	if req.FailParts > 0 {
		status := req.FailStatus
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		e.FailParts(req.FailParts, status, req.Fault, 0)
	}
	s.cfg.Log.Info("emulator control", "ttlSeconds", req.TTLSeconds, "expire", req.ExpireSignatures, "failParts", req.FailParts)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "POST")
	writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}
