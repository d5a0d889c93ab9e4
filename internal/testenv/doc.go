// Package testenv provides real, throwaway backing services for tests and for local
// development: a PostgreSQL server (see StartPostgres and StartCluster) and, in a
// sibling file, a Temporal dev server.
//
// Everything it starts uses free ports picked at run time and private temporary
// directories, so many test packages can run in parallel next to a developer's
// `make run` without colliding.
package testenv
