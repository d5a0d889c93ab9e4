package config

import (
	"strings"
	"testing"
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
