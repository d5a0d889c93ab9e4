package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/internal/config"
	"github.com/dunwell/dunwell/internal/statementsched"
	"github.com/dunwell/dunwell/policies"
	"github.com/dunwell/dunwell/policy"
)

const statementsUsage = `usage: starter statements <schedule|list|trigger> [flags]

  starter statements schedule [--json]   create or update the Temporal Schedules of
                                         POLICY_DIR/statements.yaml (the shipped one when
                                         unset), delete those no longer there, and list them
  starter statements list [--json]       the statement schedules Temporal holds
  starter statements trigger NAME        run schedule statements-NAME now (a customer
                                         already sent one this period is not sent another)

This is an administration tool: it talks to Temporal directly (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, ...; "schedule" also needs the services' DUNWELL_CODEC_KEYS),
not to the API. "starter serve" runs "schedule" at start-up.`

// statementsCmd runs `starter statements ...`.
func statementsCmd(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{statementsUsage}
	}
	asJSON := len(args) == 2 && args[1] == "--json"
	switch {
	case args[0] == "schedule" && (len(args) == 1 || asJSON):
		cfg, c, err := temporalAdmin(ctx, true)
		if err != nil {
			return err
		}
		defer c.Close()
		res, entries, err := ensureStatementSchedules(ctx, cfg, c)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(out).Encode(map[string]any{"changes": res, "schedules": entries})
		}
		for _, ch := range []struct {
			what string
			ids  []string
		}{{"created", res.Created}, {"updated", res.Updated}, {"deleted", res.Deleted}} {
			if len(ch.ids) > 0 {
				fmt.Fprintf(out, "%s: %s\n", ch.what, strings.Join(ch.ids, ", "))
			}
		}
		return printSchedules(out, entries)
	case args[0] == "list" && (len(args) == 1 || asJSON):
		_, c, err := temporalAdmin(ctx, false)
		if err != nil {
			return err
		}
		defer c.Close()
		entries, err := statementsched.List(ctx, c)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(out).Encode(entries)
		}
		return printSchedules(out, entries)
	case args[0] == "trigger" && len(args) == 2 && !strings.HasPrefix(args[1], "-"):
		_, c, err := temporalAdmin(ctx, false)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := statementsched.Trigger(ctx, c, args[1]); err != nil {
			return err
		}
		fmt.Fprintf(out, "triggered %s: its StatementRun workflow starts now\n", statementsched.ID(args[1]))
		return nil
	}
	return usageError{statementsUsage}
}

// ensureStatementSchedules reads statements.yaml of the configured POLICY_DIR and makes
// Temporal's statement schedules match it.
func ensureStatementSchedules(ctx context.Context, cfg *config.Config, c client.Client) (statementsched.Result, []statementsched.Entry, error) {
	scheds, err := policies.StatementSchedules(cfg.PolicyDir)
	if err != nil {
		return statementsched.Result{}, nil, err
	}
	res, err := statementsched.Ensure(ctx, c, scheds)
	if err != nil {
		return res, nil, err
	}
	names := make([]string, len(scheds))
	for i, s := range scheds {
		names[i] = s.Name
	}
	entries, err := statementsched.Describe(ctx, c, names)
	return res, entries, err
}

func printSchedules(out io.Writer, entries []statementsched.Entry) error {
	if len(entries) == 0 {
		fmt.Fprintf(out, "no statement schedules (add entries to %s)\n", policy.StatementsFile)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tPAUSED\tNEXT RUN\tLAST RUN\tNOTE")
	for _, e := range entries {
		next, last := "-", "-"
		if len(e.NextRuns) > 0 {
			next = e.NextRuns[0].UTC().Format(time.RFC3339)
		}
		if n := len(e.RecentRuns); n > 0 {
			last = e.RecentRuns[n-1].UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%t\t%s\t%s\t%s\n", e.ID, e.Paused, next, last, e.Note)
	}
	return tw.Flush()
}

// temporalAdmin dials Temporal with the services' configuration. Listing and
// triggering carry no payload, so they work without DUNWELL_CODEC_KEYS.
func temporalAdmin(ctx context.Context, needCodec bool) (*config.Config, client.Client, error) {
	if !needCodec && os.Getenv(codec.EnvKeys) == "" && os.Getenv("DUNWELL_CODEC_DISABLED") == "" {
		_ = os.Setenv("DUNWELL_CODEC_DISABLED", "true") // this process only: nothing is encoded
	}
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	c, err := client.DialContext(ctx, cfg.ClientOptions(cfg.Logger()))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	return cfg, c, nil
}
