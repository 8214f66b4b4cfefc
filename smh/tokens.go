package smh

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UploadGrants is the smallest grant that can upload: begin, renew, status,
// cancel and confirm. A token broker hands browsers tokens with only this.
var UploadGrants = []string{"begin_upload", "confirm_upload"}

// TokenClient creates and renews access tokens. It needs the library secret,
// so it belongs on a server, never in a browser.
type TokenClient struct {
	c      *Client
	secret string
}

// TokenOptions are the arguments of TokenClient.Create.
type TokenOptions struct {
	Grant   []string      // permissions; empty means read-only
	Period  time.Duration // lifetime, sliding on use; SMH's default (24 h) when 0
	UserID  string
	SpaceID string // one space, or a comma list; empty for the library's default
}

// Token is an access token and its lifetime.
type Token struct {
	AccessToken string `json:"accessToken"`
	ExpiresIn   int64  `json:"expiresIn"` // seconds
}

// NewTokenClient returns a TokenClient for endpoint and library. Errors
// never contain the secret.
func NewTokenClient(endpoint, libraryID, librarySecret string, doer Doer) (*TokenClient, error) {
	if librarySecret == "" {
		return nil, invalid(CodeInvalidInput, "library secret is empty")
	}
	c, err := NewClient(ClientConfig{Endpoint: endpoint, LibraryID: libraryID, AccessToken: "-"}, doer)
	if err != nil {
		return nil, err
	}
	c.token = "" // token calls authenticate with the secret
	return &TokenClient{c: c, secret: librarySecret}, nil
}

// Create asks SMH for a new access token (POST /api/v1/token).
func (t *TokenClient) Create(ctx context.Context, o TokenOptions) (*Token, error) {
	q := url.Values{}
	q.Set("library_id", t.c.cfg.LibraryID)
	q.Set("library_secret", t.secret)
	if len(o.Grant) > 0 {
		q.Set("grant", strings.Join(o.Grant, ","))
	}
	if o.Period > 0 {
		q.Set("period", strconv.FormatInt(int64(o.Period/time.Second), 10))
	}
	if o.UserID != "" {
		q.Set("user_id", o.UserID)
	}
	if o.SpaceID != "" {
		q.Set("space_id", o.SpaceID)
	}
	return t.tokenCall(ctx, call{op: "token", method: "POST", path: "token", query: q})
}

// Renew extends a token by its original period (POST /api/v1/token/{lib}/{token}).
func (t *TokenClient) Renew(ctx context.Context, accessToken string) (*Token, error) {
	return t.tokenCall(ctx, call{op: "token", method: "POST", path: t.tokenPath(accessToken)}, accessToken)
}

// Delete revokes a token (DELETE /api/v1/token/{lib}/{token}).
func (t *TokenClient) Delete(ctx context.Context, accessToken string) error {
	_, err := t.c.do(ctx, call{op: "token", method: "DELETE", path: t.tokenPath(accessToken)})
	return t.clean(err, accessToken)
}

func (t *TokenClient) tokenPath(tok string) string {
	return "token/" + url.PathEscape(t.c.cfg.LibraryID) + "/" + url.PathEscape(tok)
}

func (t *TokenClient) tokenCall(ctx context.Context, k call, secrets ...string) (*Token, error) {
	var tok Token
	k.out = &tok
	if _, err := t.c.do(ctx, k); err != nil {
		return nil, t.clean(err, secrets...)
	}
	if tok.AccessToken == "" {
		return nil, &Error{Op: "token", Code: CodeBadResponse, Message: "answer has no accessToken"}
	}
	return &tok, nil
}

// clean removes the secret and tokens from an error the server may have
// echoed them into.
func (t *TokenClient) clean(err error, secrets ...string) error {
	if e, ok := err.(*Error); ok {
		all := append([]string{t.secret}, secrets...)
		e.Message = scrub(e.Message, all...)
		if e.Err != nil && !isSentinel(e.Err) {
			e.Err = scrubbedError{scrub(e.Err.Error(), all...)}
		}
	}
	return err
}

type scrubbedError struct{ msg string }

func (s scrubbedError) Error() string { return s.msg }
