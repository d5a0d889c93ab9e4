package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dunwell/dunwell/auth"
	"github.com/dunwell/dunwell/ledger"
)

// envDevAPIKey names the development API key `starter serve` registers at start-up.
const envDevAPIKey = "DUNWELL_DEV_API_KEY"

// devKeyName is the name the development key is registered under.
const devKeyName = "dev"

const keysUsage = `usage: starter keys <create|list|revoke> [flags]

  starter keys create --name NAME --scope SCOPE[,SCOPE...]   print a new key's token (once) and id
  starter keys list                                          list keys (never their tokens)
  starter keys revoke ID|NAME                                revoke a key; it fails on its next request

Scopes: invoices:write, payments:write, operator, read (or all).

This is an administration tool: it talks to the ledger's PostgreSQL directly at
DATABASE_URL (not to the API), so run it where that database is reachable.`

// keys runs `starter keys ...`.
func keys(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{keysUsage}
	}
	ctx = ledger.WithActor(ctx, adminActor())
	switch args[0] {
	case "create":
		return keysCreate(ctx, args[1:], out)
	case "list":
		if len(args) != 1 {
			return usageError{"usage: starter keys list"}
		}
		return withLedger(ctx, func(s *ledger.Store) error { return keysList(ctx, s, out) })
	case "revoke":
		if len(args) != 2 || strings.HasPrefix(args[1], "-") {
			return usageError{"usage: starter keys revoke ID|NAME"}
		}
		return withLedger(ctx, func(s *ledger.Store) error {
			k, err := s.RevokeAPIKey(ctx, args[1])
			if errors.Is(err, ledger.ErrNotFound) {
				return fmt.Errorf("no active key %q", args[1])
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "revoked key %d (%s) at %s\n", k.ID, k.Name, k.RevokedAt.UTC().Format(time.RFC3339))
			return err
		})
	case "help", "-h", "--help":
		_, err := fmt.Fprintln(out, keysUsage)
		return err
	default:
		return usageError{fmt.Sprintf("unknown keys command %q\n\n%s", args[0], keysUsage)}
	}
}

func keysCreate(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "key name: a letter, then letters, digits, '.', '_' or '-'")
	scopeList := fs.String("scope", "", "comma-separated scopes: invoices:write, payments:write, operator, read, or all")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error() + "\n\n" + keysUsage}
	}
	if *name == "" || *scopeList == "" || fs.NArg() > 0 {
		return usageError{"usage: starter keys create --name NAME --scope SCOPE[,SCOPE...]"}
	}
	scopes, err := auth.ParseScopes(*scopeList)
	if err != nil {
		return usageError{"--scope: " + err.Error()}
	}
	return withLedger(ctx, func(s *ledger.Store) error {
		token, k, err := s.CreateAPIKey(ctx, *name, auth.Strings(scopes))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "token:  %s\nid:     %d\nname:   %s\nscopes: %s\n\n"+
			"The token is shown only this once; store it now (e.g. DUNWELL_API_KEY for the CLI).\n",
			token, k.ID, k.Name, strings.Join(k.Scopes, ","))
		return err
	})
}

func keysList(ctx context.Context, s *ledger.Store, out io.Writer) error {
	list, err := s.ListAPIKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tLAST USED\tREVOKED")
	for _, k := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","),
			k.CreatedAt.UTC().Format(time.RFC3339), when(k.LastUsedAt), when(k.RevokedAt))
	}
	return tw.Flush()
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// withLedger opens the ledger at DATABASE_URL for one admin command.
func withLedger(ctx context.Context, f func(*ledger.Store) error) error {
	dsn := strings.TrimSpace(os.Getenv("DATABASE_URL"))
	if dsn == "" {
		return usageError{"DATABASE_URL: is required; `starter keys` talks to the ledger's PostgreSQL directly"}
	}
	if u, err := url.Parse(dsn); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return usageError{"DATABASE_URL: must be a postgres:// URL"}
	}
	store, err := ledger.Open(ctx, dsn, ledger.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return fmt.Errorf("opening the ledger: %w", err)
	}
	defer store.Close()
	return f(store)
}

// adminActor names who runs an admin command, for the audit entries of the keys it
// creates or revokes: the OS user, as far as this process can tell.
func adminActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "?"
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("starter keys (user %s on %s)", name, host)
}

// audit runs `starter audit INVOICE`: the invoice's audit trail from the API.
func audit(ctx context.Context, args []string, out io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return usageError{"usage: starter audit INVOICE_ID"}
	}
	return callAPI(ctx, http.MethodGet, "/v1/invoices/"+url.PathEscape(args[0])+"/audit", nil, out)
}

// setupAuth prepares API authentication for `starter serve`: it registers the
// development key named by DUNWELL_DEV_API_KEY, if set, with every scope, and signs
// sessions with DUNWELL_SESSION_SECRET (a random secret per process if unset). The
// token is never logged.
func setupAuth(ctx context.Context, store *ledger.Store, logger *slog.Logger) (*auth.Middleware, error) {
	if token := os.Getenv(envDevAPIKey); token != "" {
		k, err := store.EnsureAPIKey(ledger.WithActor(ctx, "starter serve ("+envDevAPIKey+")"), devKeyName, token, auth.Strings(auth.AllScopes()))
		if errors.Is(err, ledger.ErrKeyNameInUse) {
			return nil, fmt.Errorf("registering the development API key from %s: %w; it is not this token's and is left alone: "+
				"revoke it (starter keys revoke %s) if it is a leftover, or unset %s", envDevAPIKey, err, devKeyName, envDevAPIKey)
		}
		if err != nil {
			return nil, fmt.Errorf("registering the development API key from %s: %w", envDevAPIKey, err)
		}
		logger.Warn("A DEVELOPMENT API KEY IS ACTIVE ("+envDevAPIKey+"): anyone who knows it has every scope. "+
			"For local use only; unset it and revoke the key (starter keys revoke dev) anywhere else.",
			"key_id", k.ID, "key_name", k.Name, "scopes", k.Scopes)
	} else if list, err := store.ListAPIKeys(ctx); err == nil && !hasActiveKey(list) {
		logger.Warn("No API key exists yet: every /v1/ request will be refused. Create one with: starter keys create --name NAME --scope all")
	}
	var opts []auth.Option
	if secret := os.Getenv(auth.EnvSessionSecret); secret != "" {
		opts = append(opts, auth.WithSessionSecret([]byte(secret)))
	}
	m, err := auth.New(store, logger, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", auth.EnvSessionSecret, err)
	}
	return m, nil
}

func hasActiveKey(list []ledger.APIKey) bool {
	for _, k := range list {
		if !k.Revoked() {
			return true
		}
	}
	return false
}
