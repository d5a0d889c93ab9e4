package ledger

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var embedded embed.FS

// migrationLockID is the advisory lock that serialises ledger migrations across
// processes: crc32("dunwell-ledger"), distinct from goose's default so other
// goose-managed schemas in the same database do not wait on ours.
const migrationLockID int64 = 0x20651b37

// Migrations returns the embedded goose SQL migrations, e.g. for a CLI that shows
// or applies them.
func Migrations() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil { // cannot happen: the directory is embedded at build time
		return embedded
	}
	return sub
}

// migrate applies pending migrations through goose's Provider, holding a PostgreSQL
// session-level advisory lock so concurrent start-ups take turns.
func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	// Poll for the lock every second, for up to migrateTimeout.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID),
		lock.WithLockTimeout(1, uint64(migrateTimeout.Seconds())),
	)
	if err != nil {
		return fmt.Errorf("ledger: create migration lock: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // does not close the pool
	provider, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log),
	)
	if err != nil {
		return fmt.Errorf("ledger: prepare migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("ledger: apply migrations: %w", err)
	}
	for _, r := range results {
		log.Info("ledger: applied migration", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}
