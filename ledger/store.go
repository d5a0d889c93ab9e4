package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults for Open.
const (
	DefaultQueryTimeout = 5 * time.Second
	DefaultMaxConns     = 10
	// defaultConnectTimeout applies when the URL sets no connect_timeout.
	defaultConnectTimeout = 5 * time.Second
	// migrateTimeout bounds migrations, including waiting for another process's
	// migration lock, when ctx has no earlier deadline.
	migrateTimeout = 3 * time.Minute
)

// Store is the ledger on a PostgreSQL connection pool. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	log     *slog.Logger
}

// Option configures Open.
type Option func(*options)

type options struct {
	queryTimeout time.Duration
	maxConns     int32
	logger       *slog.Logger
}

// WithQueryTimeout bounds every ledger query (default DefaultQueryTimeout); a
// caller's earlier context deadline still wins. Non-positive values are ignored.
func WithQueryTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.queryTimeout = d
		}
	}
}

// WithMaxConns sets the pool size (default DefaultMaxConns) unless the URL sets
// pool_max_conns. Non-positive values are ignored.
func WithMaxConns(n int32) Option {
	return func(o *options) {
		if n > 0 {
			o.maxConns = n
		}
	}
}

// WithLogger sets the logger for migrations and pool events (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Open connects to the PostgreSQL database at databaseURL (a postgres:// URL or a
// keyword/value string), applies any pending migrations (serialised across processes
// by a PostgreSQL advisory lock, so several workers may start at once) and pings the
// database. Close the Store when done.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*Store, error) {
	o := options{queryTimeout: DefaultQueryTimeout, maxConns: DefaultMaxConns, logger: slog.Default()}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if strings.TrimSpace(databaseURL) == "" {
		return nil, errors.New("ledger: database URL is empty")
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgconn redacts the password in its parse errors.
		return nil, fmt.Errorf("ledger: invalid database URL: %w", err)
	}
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = o.maxConns
	}
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = time.Minute
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ledger: create connection pool: %w", err)
	}
	s := &Store{pool: pool, timeout: o.queryTimeout, log: o.logger}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrate(ctx, pool, o.logger); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes every connection; the Store must not be used afterwards.
func (s *Store) Close() {
	s.pool.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ledger: ping database: %w", err)
	}
	return nil
}

// withTimeout bounds one ledger operation by the Store's query timeout.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// queryRows runs a read on the pool within the Store's query timeout and collects its
// rows with scan; op names the read in errors. No rows is an empty, non-nil slice.
func queryRows[T any](ctx context.Context, s *Store, op string, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	return query(ctx, s, op, sql, args, func(rows pgx.Rows) ([]T, error) { return pgx.CollectRows(rows, scan) })
}

// queryOne is queryRows for a read of exactly one row: none is ErrNotFound.
func queryOne[T any](ctx context.Context, s *Store, op string, scan pgx.RowToFunc[T], sql string, args ...any) (T, error) {
	return query(ctx, s, op, sql, args, func(rows pgx.Rows) (T, error) { return pgx.CollectExactlyOneRow(rows, scan) })
}

func query[R any](ctx context.Context, s *Store, op, sql string, args []any, collect func(pgx.Rows) (R, error)) (R, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var zero R
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return zero, wrap(op, err)
	}
	r, err := collect(rows)
	if err != nil {
		return zero, wrap(op, err)
	}
	return r, nil
}

// recordTx runs record in one transaction within the Store's query timeout and
// returns whether it stored something new; op names the write in errors.
func (s *Store) recordTx(ctx context.Context, op string, record func(context.Context, pgx.Tx) (bool, error)) (bool, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	inserted := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		inserted, err = record(ctx, tx)
		return err
	})
	if err != nil {
		return false, wrap(op, err)
	}
	return inserted, nil
}
