package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// statementCmd fetches GET /v1/customers/{id}/statement: the JSON to standard
// output, or with -o the PDF written to a file (replaced whole, never half-written).
func statementCmd(ctx context.Context, args []string, out io.Writer) error {
	const usage = "usage: starter statement CUSTOMER_ID [-o file.pdf] [-as-of YYYY-MM-DD] [-since YYYY-MM-DD] [-lang de-DE]"
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("statement", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("o", "", "write the PDF to this file instead of printing the JSON")
	asOf := fs.String("as-of", "", "statement date (default today, UTC)")
	since := fs.String("since", "", "first day of the activity shown (default: after the last statement sent)")
	lang := fs.String("lang", "", "language of the PDF's amounts and dates, e.g. de-DE")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error() + "\n" + usage}
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{usage}
	}
	if id == "" {
		return usageError{usage}
	}
	q := url.Values{}
	for name, v := range map[string]string{"as_of": *asOf, "since": *since} {
		if v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return usageError{fmt.Sprintf("-%s %q: must be a date like 2026-01-31\n%s", strings.ReplaceAll(name, "_", "-"), v, usage)}
		}
		q.Set(name, v)
	}
	path := "/v1/customers/" + url.PathEscape(id) + "/statement"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	c, err := newAPIClient()
	if err != nil {
		return err
	}
	if *file == "" {
		return c.do(ctx, http.MethodGet, path, nil, out, "Accept", "application/json")
	}
	headers := []string{"Accept", "application/pdf"}
	if *lang != "" {
		headers = append(headers, "Accept-Language", *lang)
	}
	var buf bytes.Buffer
	if err := c.do(ctx, http.MethodGet, path, nil, &buf, headers...); err != nil {
		return err
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		return fmt.Errorf("the API did not answer a PDF for %s", id)
	}
	if err := writeFileAtomic(*file, buf.Bytes()); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "wrote %s (%d bytes)\n", *file, buf.Len())
	return err
}

// writeFileAtomic writes data to a temporary file beside name and renames it into
// place, so name is either the old file or the whole new one.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
