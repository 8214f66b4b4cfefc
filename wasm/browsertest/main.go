//go:build !js

// Command browsertest runs the browser tests of package wasm: it starts a
// control server on 127.0.0.1, through which the tests running in headless
// Chromium create SMH emulators (each on its own 127.0.0.1 ports), read
// their counters and stored files and pull their fault knobs; then it runs
//
//	GOOS=js GOARCH=wasm go test [go test flags] [packages]
//
// with SMH_CONTROL_URL set (wasmbrowsertest passes the environment on to the
// page), filters exactly the known harmless chromedp protocol lines from the
// output, stops every server and exits with go test's status.
//
// Usage:
//
//	go run ./wasm/browsertest [-dist dir] [-src dir] [-chromium path] [-timeout d] [go test args]
//
// With SMH_MATRIX_README naming a README, the browser fault matrix
// (TestFaultMatrix in package wasm) writes its table into that file's
// browser-matrix section through the control server: `make matrix`.
//
// go_js_wasm_exec (wasmbrowsertest) must be on PATH. Chromium is started
// through a wrapper that adds the flags a machine without network and
// without a GPU needs; chromedp adds --no-sandbox when running as root.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// chromiumFlags are added to every Chromium start. chromedp's defaults
// already give --headless, --no-first-run, --disable-background-networking
// and --disable-sync.
var chromiumFlags = []string{
	"--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
}

// harmless matches the only lines removed from the output: chromedp's
// protocol tables predate values newer Chromium sends, which it logs and
// ignores.
var harmless = regexp.MustCompile(`^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?(ERROR: )?could not unmarshal event: .*unknown IPAddressSpace value: .*$`)

func main() {
	log.SetFlags(0)
	log.SetPrefix("browsertest: ")
	dist := flag.String("dist", "wasm/dist", "directory with smh.wasm, smh-upload.js and wasm_exec.js, served at /dist/")
	src := flag.String("src", "wasm", "directory with the module's JavaScript sources, served at /src/")
	chromium := flag.String("chromium", "/usr/bin/chromium", "the Chromium binary")
	timeout := flag.Duration("timeout", 20*time.Minute, "stop everything after this long")
	flag.Parse()
	os.Exit(run(*dist, *src, *chromium, *timeout, flag.Args()))
}

func run(dist, src, chromium string, timeout time.Duration, args []string) int {
	if _, err := exec.LookPath("go_js_wasm_exec"); err != nil {
		log.Printf("go_js_wasm_exec (wasmbrowsertest) is not on PATH: %v", err)
		return 2
	}
	if _, err := os.Stat(chromium); err != nil {
		log.Printf("no Chromium at %s: %v", chromium, err)
		return 2
	}
	tmp, err := os.MkdirTemp("", "smh-browsertest-")
	if err != nil {
		log.Print(err)
		return 2
	}
	defer os.RemoveAll(tmp)
	// chromedp finds the browser on PATH; the wrapper comes first.
	wrapper := "#!/bin/sh\nexec " + shellQuote(chromium) + " " + strings.Join(chromiumFlags, " ") + " \"$@\"\n"
	for _, name := range []string{"headless_shell", "chromium"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(wrapper), 0o755); err != nil {
			log.Print(err)
			return 2
		}
	}

	ctl := newControl(dist, src, os.Getenv("SMH_MATRIX_README"))
	defer ctl.closeAll()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Print(err)
		return 2
	}
	srv := &http.Server{Handler: ctl, ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if len(args) == 0 {
		args = []string{"./wasm/..."}
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"test"}, args...)...)
	cmd.Env = childEnv(tmp, "http://"+ln.Addr().String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so a timeout stops the browser too
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		log.Print(err)
		return 2
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); filter(stdout, os.Stdout) }()
	go func() { defer wg.Done(); filter(stderr, os.Stderr) }()
	wg.Wait()
	err = cmd.Wait()
	if ctx.Err() != nil {
		log.Printf("timed out after %s", timeout)
		return 1
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return max(ee.ExitCode(), 1)
	case err != nil:
		log.Print(err)
		return 1
	}
	return 0
}

// filter copies r to w line by line, dropping the harmless lines.
func filter(r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if line := sc.Text(); !harmless.MatchString(line) {
			fmt.Fprintln(w, line)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(w, "browsertest: reading test output: %v\n", err)
		_, _ = io.Copy(w, r)
	}
}

// childEnv is the environment of go test: the parts of ours that the Go
// tool and Chromium need, for wasm, with the wrapper directory first on
// PATH. wasmbrowsertest hands the whole environment to the page, and Go's
// js/wasm runtime allows only 8 KiB of arguments and environment, so the
// rest (a CI machine's many variables) is left out.
func childEnv(wrapperDir, controlURL string) []string {
	keep := func(k string) bool {
		switch k {
		case "HOME", "USER", "LOGNAME", "TMPDIR", "LANG", "TZ", "DISPLAY", "WASM_HEADLESS", "CI":
			return true
		}
		for _, p := range []string{"GO", "CGO_", "LC_", "XDG_", "SMH_"} {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
		return false
	}
	env := []string{
		"PATH=" + wrapperDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"GOOS=js", "GOARCH=wasm",
		"SMH_CONTROL_URL=" + controlURL,
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if keep(k) && k != "GOOS" && k != "GOARCH" {
			env = append(env, kv)
		}
	}
	return env
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
