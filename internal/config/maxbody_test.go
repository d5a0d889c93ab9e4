package config

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
)

// checkCount loads the config with the variable name unset, set to good and set to
// each of bad, checking the value read and that each bad one is refused naming the
// variable with want.
func checkCount(t *testing.T, name string, read func(*Config) int64, def, good int64, want string, bad ...string) {
	t.Helper()
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	c, err := load(env(base))
	if err != nil || read(c) != def {
		t.Fatalf("default: %v, %v", c, err)
	}
	base[name] = strconv.FormatInt(good, 10)
	if c, err = load(env(base)); err != nil || read(c) != good {
		t.Fatalf("%d: %v, %v", good, c, err)
	}
	for _, b := range bad {
		base[name] = b
		if _, err := load(env(base)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v", b, err)
		}
	}
}

func TestAPIMaxBodyBytes(t *testing.T) {
	checkCount(t, "API_MAX_BODY_BYTES", func(c *Config) int64 { return c.APIMaxBodyBytes }, 1<<20, 4096,
		"API_MAX_BODY_BYTES", "1k", "-1", "10", "999999999999")
}

func TestWorkflowCacheSize(t *testing.T) {
	checkCount(t, "WORKER_WORKFLOW_CACHE_SIZE", func(c *Config) int64 { return int64(c.WorkflowCacheSize) }, DefaultWorkflowCacheSize, 5000,
		"WORKER_WORKFLOW_CACHE_SIZE: must be a number of workflows", "many", "-1", "0", "9", "1e6", "2000000")
}

func TestGrpcCompression(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	c, err := load(env(base))
	if err != nil || c.Temporal.NoCompression || c.ClientOptions(slog.Default()).ConnectionOptions.GrpcCompression != nil {
		t.Fatalf("default gzip: %v, %v", c, err)
	}
	base["TEMPORAL_GRPC_COMPRESSION"] = "none"
	if c, err = load(env(base)); err != nil || !c.Temporal.NoCompression {
		t.Fatalf("none: %v, %v", c, err)
	}
	if _, ok := c.ClientOptions(slog.Default()).ConnectionOptions.GrpcCompression.(*client.GrpcCompressionNone); !ok {
		t.Errorf("none does not reach the client options")
	}
	base["TEMPORAL_GRPC_COMPRESSION"] = "zstd"
	if _, err := load(env(base)); err == nil || !strings.Contains(err.Error(), `TEMPORAL_GRPC_COMPRESSION: must be gzip or none, got "zstd"`) {
		t.Errorf("zstd: %v", err)
	}
}
