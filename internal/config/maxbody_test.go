package config

import (
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
)

func TestAPIMaxBodyBytes(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	c, err := load(env(base))
	if err != nil || c.APIMaxBodyBytes != 1<<20 {
		t.Fatalf("default: %v, %v", c, err)
	}
	base["API_MAX_BODY_BYTES"] = "4096"
	if c, err = load(env(base)); err != nil || c.APIMaxBodyBytes != 4096 {
		t.Fatalf("4096: %v, %v", c, err)
	}
	for _, bad := range []string{"1k", "-1", "10", "999999999999"} {
		base["API_MAX_BODY_BYTES"] = bad
		if _, err := load(env(base)); err == nil || !strings.Contains(err.Error(), "API_MAX_BODY_BYTES") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestWorkflowCacheSize(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys}
	c, err := load(env(base))
	if err != nil || c.WorkflowCacheSize != DefaultWorkflowCacheSize {
		t.Fatalf("default: %v, %v", c, err)
	}
	base["WORKER_WORKFLOW_CACHE_SIZE"] = "5000"
	if c, err = load(env(base)); err != nil || c.WorkflowCacheSize != 5000 {
		t.Fatalf("5000: %v, %v", c, err)
	}
	for _, bad := range []string{"many", "-1", "0", "9", "1e6", "2000000"} {
		base["WORKER_WORKFLOW_CACHE_SIZE"] = bad
		if _, err := load(env(base)); err == nil || !strings.Contains(err.Error(), "WORKER_WORKFLOW_CACHE_SIZE: must be a number of workflows") {
			t.Errorf("%q: %v", bad, err)
		}
	}
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
