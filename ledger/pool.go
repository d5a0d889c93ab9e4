package ledger

import "github.com/jackc/pgx/v5/pgxpool"

// Pool returns the Store's connection pool, for read-only packages (reports) that run
// their own queries against the ledger's tables. Writes go through the Store's methods.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
