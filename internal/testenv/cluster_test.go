package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// dynamicValue is one value of a dynamic config key, as the server reads it.
type dynamicValue struct {
	Value       any               `yaml:"value"`
	Constraints map[string]string `yaml:"constraints"`
}

// TestDynamicConfigGivesTheNamedQueuesOnePartition: the partition settings apply to
// the named queues only (a constraint on each value), read and write alike.
func TestDynamicConfigGivesTheNamedQueuesOnePartition(t *testing.T) {
	var got map[string][]dynamicValue
	require.NoError(t, yaml.Unmarshal([]byte(dynamicConfig([]string{"dunwell-email", "dunwell-sms"})), &got))
	require.Equal(t, []dynamicValue{{Value: 255}}, got["limit.maxIDLength"])
	for _, key := range []string{"matching.numTaskqueueReadPartitions", "matching.numTaskqueueWritePartitions"} {
		require.Equal(t, []dynamicValue{
			{Value: 1, Constraints: map[string]string{"taskQueueName": "dunwell-email"}},
			{Value: 1, Constraints: map[string]string{"taskQueueName": "dunwell-sms"}},
		}, got[key], key)
	}

	require.NotContains(t, dynamicConfig(nil), "Partitions", "no queue named: every queue keeps the default")
}

// TestTemporalServerVersionIsTheMakefiles: the cluster looks for the server the
// Makefile builds.
func TestTemporalServerVersionIsTheMakefiles(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^TEMPORAL_SERVER_VERSION := (\S+)$`).FindSubmatch(mk)
	require.NotNil(t, m, "the Makefile sets no TEMPORAL_SERVER_VERSION")
	require.Equal(t, TemporalServerVersion, string(m[1]))
}

// TestTemporalClusterWithoutTheServerSaysHowToBuildIt: a missing server is an error
// naming the directory and the make target, before anything starts.
func TestTemporalClusterWithoutTheServerSaysHowToBuildIt(t *testing.T) {
	dir := t.TempDir()
	_, err := StartTemporalCluster(t.Context(), TemporalClusterOptions{ServerDir: dir})
	require.ErrorContains(t, err, dir)
	require.ErrorContains(t, err, "make cluster-server")
}
