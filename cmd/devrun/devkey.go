package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dunwell/dunwell/ledger"
)

// envDevKeyDatabaseHost is the explicit override that lets `make run` register its
// development key (every scope) in a database that is neither its own throwaway
// cluster nor on this machine: it must name that database's host(s) exactly, as in
// DATABASE_URL, so that it cannot carry over to another database unnoticed.
const envDevKeyDatabaseHost = "DUNWELL_DEV_KEY_DATABASE_HOST"

// revokeTimeout bounds revoking the development key at exit.
const revokeTimeout = 15 * time.Second

// checkDevKeyDatabase decides whether `make run` may register a development key with
// every scope in the database at dbURL ("" is the run's own throwaway cluster, which
// always may). A database on this machine (a loopback address, localhost or a Unix
// socket) may: only someone on this machine can reach it with the key. Any other
// host is refused unless override names exactly its host(s). pgHost is PGHOST, which
// libpq-style clients use when the URL names no host. The error says what to do.
func checkDevKeyDatabase(dbURL, pgHost, override string) error {
	if dbURL == "" {
		return nil
	}
	hosts, err := databaseHosts(dbURL, pgHost)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	var remote []string
	for _, h := range hosts {
		if !localHost(h) {
			remote = append(remote, h)
		}
	}
	if len(remote) == 0 {
		return nil
	}
	want := strings.Join(remote, ",")
	override = strings.TrimSpace(override)
	if override == "" {
		return fmt.Errorf("DATABASE_URL points at %s, which is not this machine: `make run` registers a development API key "+
			"with every scope there for as long as it runs, usable by anyone who can reach the API. Use a database on "+
			"this machine, leave DATABASE_URL unset for a throwaway one, or, if that database is yours alone, set %s=%s",
			want, envDevKeyDatabaseHost, want)
	}
	given := strings.Split(override, ",")
	for i := range given {
		given[i] = strings.ToLower(strings.TrimSpace(given[i]))
	}
	slices.Sort(given)
	sorted := slices.Clone(remote)
	slices.Sort(sorted)
	if !slices.Equal(given, sorted) {
		return fmt.Errorf("%s: is %q but DATABASE_URL's host is %s; it must name exactly the database host(s) it allows",
			envDevKeyDatabaseHost, override, want)
	}
	return nil
}

// devKeyToken is the development key's token: DUNWELL_DEV_API_KEY when set, else the
// published devAPIKey in the run's throwaway cluster, else (keptDB: a database that
// outlives the run) a random one.
func devKeyToken(keptDB bool) (string, error) {
	if token := os.Getenv("DUNWELL_DEV_API_KEY"); token != "" {
		return token, nil
	}
	if !keptDB {
		return devAPIKey, nil
	}
	return ledger.NewAPIKeyToken()
}

// databaseHosts returns the hosts a postgres:// URL connects to, lower-cased and
// without ports: its host list, else its "host" parameter, else pgHost, else the
// default Unix socket ("/").
func databaseHosts(dbURL, pgHost string) ([]string, error) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("must be a postgres:// URL")
	}
	list := u.Host
	if h := u.Query().Get("host"); h != "" {
		list = h
	}
	if list == "" {
		list = pgHost
	}
	if list == "" {
		return []string{"/"}, nil
	}
	var hosts []string
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSpace(h)
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.ToLower(strings.Trim(h, "[]"))
		if h == "" {
			return nil, fmt.Errorf("has an empty host in %q", list)
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// localHost reports whether a database host is on this machine: a Unix socket
// directory, localhost, or a loopback address. Names are not resolved: what a name
// points at can change, and a typo could resolve anywhere.
func localHost(h string) bool {
	if strings.HasPrefix(h, "/") || h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// revokeDevKey revokes the development key this run registered (by its token, so no
// other key is touched), after the API has stopped. It logs instead of failing: the
// stack is going down either way, and the log says what is left to do.
func revokeDevKey(logger *slog.Logger, dbURL, token string) {
	ctx, cancel := context.WithTimeout(ledger.WithActor(context.Background(), "devrun (exit)"), revokeTimeout)
	defer cancel()
	store, err := ledger.Open(ctx, dbURL, ledger.WithLogger(logger))
	if err != nil {
		logger.Error("The development API key may still be active: cannot open the ledger to revoke it; run: starter keys revoke "+devKeyName, "error", err)
		return
	}
	defer store.Close()
	k, err := store.RevokeAPIKeyToken(ctx, token)
	switch {
	case errors.Is(err, ledger.ErrNotFound): // the API never got to register it
	case err != nil:
		logger.Error("The development API key may still be active: revoking it failed; run: starter keys revoke "+devKeyName, "error", err)
	default:
		logger.Info("Revoked the development API key", "key_id", k.ID, "key_name", k.Name)
	}
}
