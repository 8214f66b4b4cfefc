package smh

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Sentinel errors. An *Error wraps one of these where it applies, so callers
// test with errors.Is and never match strings.
var (
	// ErrPaused is returned by Task.Run after Task.Pause; the task can run again.
	ErrPaused = errors.New("smh: upload paused")
	// ErrCanceled is returned by Task.Run after Task.Cancel.
	ErrCanceled = errors.New("smh: upload canceled")
	// ErrInvalidInput marks an option or argument the module refuses before any request.
	ErrInvalidInput = errors.New("smh: invalid input")
	// ErrIntegrity marks bytes stored that differ from the bytes sent.
	ErrIntegrity = errors.New("smh: integrity check failed")
	// ErrExpiredSignature marks part signatures that stay expired even after a renew.
	ErrExpiredSignature = errors.New("smh: upload signature expired")
	// ErrHeadersNotExposed marks a storage host whose CORS setting hides ETag
	// or x-cos-hash-crc64ecma from the page.
	ErrHeadersNotExposed = errors.New("smh: storage response headers not exposed")
	// ErrStalled marks a part that sent no bytes for longer than the stall timeout.
	ErrStalled = errors.New("smh: part upload stalled")
	// ErrAccessToken marks an access token that was refused and could not be refreshed.
	ErrAccessToken = errors.New("smh: access token refused")
	// ErrConflict marks a target that already exists with conflict strategy "ask".
	ErrConflict = errors.New("smh: target exists")
	// ErrSourceRead marks a file that could not be read (deleted or changed
	// under the upload). Transports wrap their read failures with it.
	ErrSourceRead = errors.New("smh: reading the file failed")
)

// Codes the module sets on *Error itself; server codes (SMH JSON, COS XML) are passed through.
const (
	CodeInvalidInput          = "InvalidInput"
	CodeEmptyPath             = "EmptyPath"
	CodeIllegalPath           = "IllegalPath"
	CodeInvalidSize           = "InvalidSize"
	CodeInvalidPartSize       = "InvalidPartSize"
	CodeInvalidConcurrency    = "InvalidConcurrency"
	CodeExpiredSignature      = "ExpiredSignature"
	CodeIntegrity             = "IntegrityError"
	CodeCORSHeadersNotExposed = "CORSHeadersNotExposed"
	CodeNetwork               = "NetworkError"
	CodeStalled               = "Stalled"
	CodePaused                = "Paused"
	CodeCanceled              = "Canceled"
	CodeTokenRefresh          = "TokenRefreshFailed"
	CodeBadResponse           = "BadResponse"
	CodeSourceRead            = "SourceReadError"
)

// Error is the one error type of the module: an SMH JSON error, a COS XML
// error, a network failure or the module's own refusal, with where it happened.
type Error struct {
	Op         string        // "begin", "renew", "status", "confirm", "cancel", "part", "token", "validate", …
	PartNumber int           // for Op "part": the 1-based part number
	Status     int           // HTTP status; 0 when no response arrived
	Code       string        // SMH/COS code, or one of the Code* constants
	Message    string        // server or module message, with secrets removed
	RequestID  string        // x-smh-request-id / x-cos-request-id / body requestId
	Retryable  bool          // a later attempt may succeed
	RetryAfter time.Duration // from Retry-After, when the server sent one
	Attempts   int           // attempts made before giving up, when more than one
	ConfirmKey string        // the task to resume or cancel, when one exists
	Err        error         // the cause: a sentinel above, a network error, …
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("smh: ")
	b.WriteString(e.Op)
	if e.PartNumber > 0 {
		if e.Op != "part" {
			b.WriteString(" part")
		}
		fmt.Fprintf(&b, " %d", e.PartNumber)
	}
	b.WriteString(":")
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Err != nil && !isSentinel(e.Err) && e.Message == "" {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func isSentinel(err error) bool {
	switch err {
	case ErrPaused, ErrCanceled, ErrInvalidInput, ErrIntegrity, ErrExpiredSignature,
		ErrHeadersNotExposed, ErrStalled, ErrAccessToken, ErrConflict, ErrSourceRead:
		return true
	}
	return false
}

// IsRetryable reports whether err is an *Error marked retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// ConfirmKeyOf returns the confirm key carried by err, if any: the handle to
// resume (Options.ConfirmKey) or cancel (Client.CancelUpload) a failed upload.
func ConfirmKeyOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.ConfirmKey
	}
	return ""
}

func invalid(code, format string, args ...any) *Error {
	return &Error{Op: "validate", Code: code, Message: fmt.Sprintf(format, args...), Err: ErrInvalidInput}
}

// secretParams are query parameters whose values never leave the process in
// an error or log line.
var secretParams = []string{"access_token", "library_secret"}

// redactURL drops secret query values from u so it can go in a message.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<unparsable url>"
	}
	q := p.Query()
	changed := false
	for _, k := range secretParams {
		if q.Has(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// scrub replaces every known secret in s; used on server messages and
// transport errors, which may echo a URL or header back.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "REDACTED")
			if esc := url.QueryEscape(sec); esc != sec {
				s = strings.ReplaceAll(s, esc, "REDACTED")
			}
		}
	}
	return s
}
