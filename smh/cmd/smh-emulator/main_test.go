package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// started is a run in progress: its ready line, and how to stop it.
type started struct {
	ready
	stop   func() error // cancels run's context and returns run's error
	client *http.Client
}

func startRun(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, &stderr)
		pw.CloseWithError(io.EOF)
		errc <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no ready line: %v (run: %v)", err, <-errc)
	}
	s := &started{}
	require.NoError(t, json.Unmarshal([]byte(line), &s.ready), line)
	var once bool
	var runErr error
	s.stop = func() error {
		if !once {
			once = true
			cancel()
			runErr = <-errc
		}
		return runErr
	}
	tr := &http.Transport{}
	if s.Certificate != "" {
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM([]byte(s.Certificate)))
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	s.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		s.stop()
	})
	return s
}

func (s *started) call(t *testing.T, method, path, query string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+path+"?"+query, nil)
	require.NoError(t, err)
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, b
}

func TestRun(t *testing.T) {
	s := startRun(t, "-addr", "127.0.0.1:0", "-tls", "-library", "mylib", "-secret", "s3cret", "-token", "tok123")
	assert.Equal(t, "mylib", s.LibraryID)
	assert.Equal(t, "s3cret", s.LibrarySecret)
	assert.Equal(t, "tok123", s.AccessToken)
	assert.Equal(t, "-", s.SpaceID)
	assert.True(t, s.TLS)
	api, err := url.Parse(s.Endpoint)
	require.NoError(t, err)
	cos, err := url.Parse(s.COSEndpoint)
	require.NoError(t, err)
	assert.Equal(t, "https", api.Scheme)
	assert.Equal(t, "https", cos.Scheme)
	assert.Equal(t, "127.0.0.1", api.Hostname())
	assert.Equal(t, "127.0.0.1", cos.Hostname(), "COS on the same host")
	assert.NotEqual(t, api.Port(), cos.Port())

	// The token works from the start; the secret creates more; the certificate is trusted by the client.
	status, body := s.call(t, "GET", "/api/v1/directory/mylib/-/", "access_token=tok123")
	require.Equal(t, 200, status, "%s", body)
	status, body = s.call(t, "GET", "/api/v1/token", "library_id=mylib&library_secret=s3cret&grant=admin")
	require.Equal(t, 200, status, "%s", body)
	status, body = s.call(t, "POST", "/api/v1/file/mylib/-/a.bin", "multipart=1&access_token=tok123")
	require.Equal(t, 201, status, "%s", body)
	var info struct{ Domain string }
	require.NoError(t, json.Unmarshal(body, &info))
	assert.Equal(t, cos.Host, info.Domain)

	require.NoError(t, s.stop(), "a stop is clean")
	_, err = net.Dial("tcp", api.Host)
	assert.Error(t, err, "the API listener is closed")
	_, err = net.Dial("tcp", cos.Host)
	assert.Error(t, err, "the COS listener is closed")
}

func TestRunDefaults(t *testing.T) {
	s := startRun(t, "-addr", "127.0.0.1:0")
	assert.True(t, strings.HasPrefix(s.Endpoint, "http://127.0.0.1:"), s.Endpoint)
	assert.Equal(t, "smhlibrary", s.LibraryID)
	assert.Regexp(t, `^acctk[0-9a-f]{48}$`, s.AccessToken, "a random token when -token is not given")
	assert.False(t, s.TLS)
	assert.Empty(t, s.Certificate)
	status, body := s.call(t, "HEAD", "/api/v1/directory/smhlibrary/-/", "access_token="+s.AccessToken)
	assert.Equal(t, 200, status, "%s", body)
}

func TestRunDataDirAndCertFile(t *testing.T) {
	dir := t.TempDir()
	certFile := filepath.Join(t.TempDir(), "emu.pem")
	s := startRun(t, "-addr", "127.0.0.1:0", "-data", dir, "-tls", "-cert-out", certFile)
	assert.Equal(t, dir, s.DataDir)
	assert.Equal(t, certFile, s.CertFile)
	pemBytes, err := os.ReadFile(certFile)
	require.NoError(t, err)
	assert.Equal(t, s.Certificate, string(pemBytes))
	status, body := s.call(t, "PUT", "/api/v1/directory/smhlibrary/-/kept", "access_token="+s.AccessToken)
	require.Equal(t, 201, status, "%s", body)
	require.NoError(t, s.stop())

	// A new run on the same directory sees what the first one stored.
	again := startRun(t, "-addr", "127.0.0.1:0", "-data", dir)
	status, body = again.call(t, "GET", "/api/v1/directory/smhlibrary/-/", "access_token="+again.AccessToken)
	require.Equal(t, 200, status, "%s", body)
	assert.Contains(t, string(body), `"name":"kept"`)
}

func TestRunErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-cert-out", "x.pem"}, "-cert-out needs -tls"},
		{[]string{"-ttl", "0s"}, "-ttl must be positive"},
		{[]string{"-addr", "no-port"}, "addr"},
		{[]string{"-addr", "127.0.0.1:0", "-library", "a/b"}, "library id"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), c.args, &stdout, &stderr)
		require.Error(t, err, c.args)
		assert.Contains(t, err.Error()+stderr.String(), c.want, c.args)
		assert.Empty(t, stdout.String(), "nothing on stdout when it does not start")
	}
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-h"}, io.Discard, &stderr)
	assert.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, stderr.String(), "-tls")
}

// TestSignal builds the command and stops it with SIGTERM: it must exit 0 after its ready line.
func TestSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "smh-emulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no ready line: %v; stderr: %s", err, stderr.String())
		}
		var r ready
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		require.NoError(t, cmd.Process.Signal(sig))
		err = cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("%v: exit %d; stderr: %s", sig, exit.ExitCode(), stderr.String())
		}
		require.NoError(t, err, sig)
		_, err = net.Dial("tcp", strings.TrimPrefix(r.Endpoint, "http://"))
		assert.Error(t, err)
	}
}
