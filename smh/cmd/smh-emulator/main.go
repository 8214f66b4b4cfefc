// Command smh-emulator runs the SMH + COS emulator of package emulator as a standalone local SMH that
// unmodified SMH clients (Tencent's SDKs, curl, this project's Go and JS clients) can be pointed at.
//
// It serves the SMH API on -addr and the COS host that part uploads and downloads go to on a second port of
// the same host (or -cos-addr). Its first line on stdout is one JSON object describing how to reach it:
//
//	{"endpoint":"https://127.0.0.1:8090","cosEndpoint":"https://127.0.0.1:40123","libraryId":"smhlibrary",
//	 "librarySecret":"smhsecret","spaceId":"-","accessToken":"acctk…","tls":true,"certificate":"-----BEGIN…"}
//
// "certificate" (with -tls) is the PEM of the throwaway self-signed certificate both hosts present; trust
// it (NODE_EXTRA_CA_CERTS=file, -cert-out writes the file) or turn verification off in the client. Nothing
// else is written to stdout; -v logs requests to stderr, secrets redacted. SIGINT or SIGTERM stops it: the
// requests in flight finish (up to 5 s), then it exits 0.
//
// Usage:
//
//	smh-emulator [-addr 127.0.0.1:8090] [-cos-addr host:port] [-data DIR] [-library ID] [-secret S]
//	             [-token T] [-ttl 1h] [-tls] [-cert-out FILE] [-v]
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/smhupload/smh-upload/smh/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "smh-emulator:", err)
		os.Exit(1)
	}
}

// ready is the first line on stdout.
type ready struct {
	Endpoint      string `json:"endpoint"`
	COSEndpoint   string `json:"cosEndpoint"`
	LibraryID     string `json:"libraryId"`
	LibrarySecret string `json:"librarySecret"`
	SpaceID       string `json:"spaceId"`
	AccessToken   string `json:"accessToken"`
	DataDir       string `json:"dataDir,omitempty"`
	TLS           bool   `json:"tls"`
	Certificate   string `json:"certificate,omitempty"`
	CertFile      string `json:"certFile,omitempty"`
}

// shutdownGrace bounds how long a stop waits for the requests in flight.
const shutdownGrace = 5 * time.Second

// run parses args, starts the emulator, writes the ready line to stdout and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("smh-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "API listen address; port 0 picks one at run time")
	cosAddr := fs.String("cos-addr", "", "COS listen address (default: the host of -addr, a port picked at run time)")
	dataDir := fs.String("data", "", "keep files in this directory (default: in memory)")
	library := fs.String("library", emulator.DefaultLibraryID, "library id")
	secret := fs.String("secret", emulator.DefaultLibrarySecret, "library secret, for creating access tokens")
	token := fs.String("token", "", "an admin access token valid from the start (default: a random one)")
	ttl := fs.Duration("ttl", emulator.DefaultSignatureTTL, "lifetime of part-upload signatures")
	useTLS := fs.Bool("tls", false, "serve both hosts over HTTPS with a throwaway self-signed certificate")
	certOut := fs.String("cert-out", "", "with -tls, also write the certificate (PEM) to this file")
	verbose := fs.Bool("v", false, "log every request to stderr (tokens and signatures redacted)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: smh-emulator [flags]\n\nA local SMH + COS emulator. The first line on stdout is JSON with the endpoints and an access token.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *certOut != "" && !*useTLS {
		return errors.New("-cert-out needs -tls")
	}
	if *ttl <= 0 {
		return errors.New("-ttl must be positive")
	}
	if *token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		*token = "acctk" + hex.EncodeToString(b)
	}
	cfg := emulator.Config{
		LibraryID:     *library,
		LibrarySecret: *secret,
		AccessToken:   *token,
		Dir:           *dataDir,
		SignatureTTL:  *ttl,
		Addr:          *addr,
		COSAddr:       *cosAddr,
		TLS:           *useTLS,
	}
	if *verbose {
		cfg.Log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	srv, err := emulator.Start(cfg)
	if err != nil {
		return err
	}
	stop := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		return srv.Shutdown(sctx)
	}

	out := ready{
		Endpoint:      srv.Endpoint,
		COSEndpoint:   srv.COSEndpoint,
		LibraryID:     srv.LibraryID(),
		LibrarySecret: srv.LibrarySecret(),
		SpaceID:       "-",
		AccessToken:   *token,
		DataDir:       *dataDir,
		TLS:           *useTLS,
		Certificate:   string(srv.CertificatePEM()),
	}
	if *certOut != "" {
		if err := os.WriteFile(*certOut, srv.CertificatePEM(), 0o644); err != nil {
			return errors.Join(err, stop())
		}
		out.CertFile = *certOut
	}
	line, err := json.Marshal(out)
	if err != nil {
		return errors.Join(err, stop())
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return errors.Join(err, stop())
	}
	<-ctx.Done()
	return stop()
}
