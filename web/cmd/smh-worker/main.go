//go:build js && wasm

// Command smh-worker is the demo's page and token broker as a Cloudflare
// Worker: the same web.New handler as cmd/smh-demo, served by
// github.com/syumai/workers, reaching SMH through the Workers fetch API.
// Configure it with the variables SMH_ENDPOINT, SMH_LIBRARY_ID and the
// secret SMH_LIBRARY_SECRET (wrangler secret put SMH_LIBRARY_SECRET).
package main

import (
	"log/slog"
	"net/http"
	"os"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/smhupload/smh-upload/smh/nethttp"
	"github.com/smhupload/smh-upload/web"
)

func main() {
	cfg := web.Config{
		SMHEndpoint:   cloudflare.Getenv("SMH_ENDPOINT"),
		LibraryID:     cloudflare.Getenv("SMH_LIBRARY_ID"),
		LibrarySecret: cloudflare.Getenv("SMH_LIBRARY_SECRET"),
		SpaceID:       cloudflare.Getenv("SMH_SPACE_ID"),
		Doer:          &nethttp.Transport{Client: fetch.NewClient().HTTPClient(fetch.RedirectModeFollow)},
		Log:           slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	h, err := web.New(cfg)
	if err != nil {
		// Half a configuration: answer every request with the reason.
		msg := err.Error()
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, msg, http.StatusServiceUnavailable)
		})
	}
	workers.Serve(h)
}
