// Package deploy has no code: its tests check the deployment files at the
// repository root (docker-compose.yml and Dockerfile) — that the compose file
// is valid against the Compose specification and wires the services, images,
// ports and search attributes the way Dunwell needs them.
package deploy
