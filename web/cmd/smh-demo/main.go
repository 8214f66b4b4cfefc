// Command smh-demo serves the demo page, its token broker and, unless a real
// SMH library is configured through the environment, the embedded emulator
// with files stored on disk.
//
//	smh-demo [-addr 127.0.0.1:8080] [-data DIR]
//
// Real SMH mode: SMH_ENDPOINT, SMH_LIBRARY_ID, SMH_LIBRARY_SECRET (and
// optionally SMH_SPACE_ID) in the environment; the secret is never printed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/nethttp"
	"github.com/smhupload/smh-upload/web"
	"github.com/smhupload/smh-upload/web/page"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "smh-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("smh-demo", flag.ContinueOnError)
	addr := fs.String("addr", envOr("SMH_DEMO_ADDR", "127.0.0.1:8080"), "listen address (env SMH_DEMO_ADDR)")
	data := fs.String("data", envOr("SMH_DEMO_DATA", filepath.Join(os.TempDir(), "smh-demo")), "emulator data directory (env SMH_DEMO_DATA)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	url := "http://" + ln.Addr().String()

	cfg := web.Config{
		SMHEndpoint:   os.Getenv("SMH_ENDPOINT"),
		LibraryID:     os.Getenv("SMH_LIBRARY_ID"),
		LibrarySecret: os.Getenv("SMH_LIBRARY_SECRET"),
		SpaceID:       os.Getenv("SMH_SPACE_ID"),
		Doer:          nethttp.New(),
		Log:           log,
		Assets:        page.FS(),
	}
	if cfg.SMHEndpoint == "" && cfg.LibraryID == "" && cfg.LibrarySecret == "" {
		emu, err := emulator.New(emulator.Config{Dir: *data, COSDomain: ln.Addr().String() + web.EmulatorCOSPrefix})
		if err != nil {
			return err
		}
		cfg.Emulator = emu
		fmt.Printf("emulator: files stored under %s\n", *data)
	} else {
		fmt.Printf("SMH library %s at %s\n", cfg.LibraryID, cfg.SMHEndpoint)
	}
	h, err := web.New(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	fmt.Printf("demo: %s\n", url)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
