# syntax=docker/dockerfile:1

# Dunwell's binaries in one image: /app/worker (the default), /app/starter and
# /app/fakeproviders. docker-compose.yml picks one per service with `command`.
# deploy/compose_test.go checks this file.

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0

# Japanese statements and letters embed IPAGothic (pdffont.DefaultJA); the
# final image has no package manager, so the font is fetched here and copied over.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-ipafont-gothic \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so that this layer is rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter ./cmd/fakeproviders

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/starter /out/fakeproviders /app/
COPY --from=build /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf
USER nonroot:nonroot
CMD ["/app/worker"]
