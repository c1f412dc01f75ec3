// Package netx holds small network helpers shared by the commands.
package netx

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/domainscan/domain-scan/internal/atomicfile"
)

// defaultClient is used when the caller passes no client. It has no
// Timeout of its own: Download bounds every request with a context instead,
// so that the caller's timeout is the only one that applies.
var defaultClient = &http.Client{}

// Download GETs url into the file dest (written atomically: temp file in
// dest's dir + rename), with an absolute timeout and a byte cap. A non-2xx
// status is an error naming the status and URL; more than maxBytes is an
// error naming the cap. Gzip Content-Encoding is decoded transparently.
//
// client nil means a default client; timeout <= 0 means no timeout beyond
// ctx; maxBytes <= 0 means no cap. The cap counts decoded bytes, so a small
// compressed body cannot fill the disk. Errors start with "download <url>:"
// (password redacted); on any error dest is left untouched.
func Download(ctx context.Context, client *http.Client, url, dest string, maxBytes int64, timeout time.Duration) (err error) {
	shown := redact(url)
	defer func() {
		if err != nil {
			err = fmt.Errorf("download %s: %w", shown, err)
		}
	}()
	if client == nil {
		client = defaultClient
	}
	parent := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// timedOut turns the transport's assorted cancellation errors into one
	// clear message when our own deadline (not the caller's) fired.
	timedOut := func(err error) error {
		if timeout > 0 && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		return err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return timedOut(unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP status %s", resp.Status)
	}

	var body io.Reader = resp.Body
	// net/http decodes gzip only when it added Accept-Encoding itself; a
	// custom transport (or DisableCompression) leaves that to us.
	if !resp.Uncompressed && strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return timedOut(fmt.Errorf("gzip body: %w", err))
		}
		defer zr.Close()
		body = zr
	}
	if maxBytes > 0 {
		// One byte more than allowed tells "exactly the cap" from "over it".
		body = io.LimitReader(body, maxBytes+1)
	}

	return atomicfile.Write(dest, 0o644, func(w io.Writer) error {
		n, err := io.Copy(w, body)
		if err != nil {
			return timedOut(fmt.Errorf("read body: %w", err))
		}
		if maxBytes > 0 && n > maxBytes {
			return fmt.Errorf("response larger than the %d-byte cap", maxBytes)
		}
		return nil
	})
}

// redact hides a password in the URL so error messages can be logged.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// unwrapURLError drops the *url.Error wrapper, which repeats the method and
// URL that our own prefix already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
