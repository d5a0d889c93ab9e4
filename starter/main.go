// Command starter is Dunwell's front door: `starter serve` serves the HTTP API (the
// billing system issues invoices, payments arrive, operators read state), and the
// other subcommands do the same from a shell by calling that API.
//
//	starter serve                         serve the API on LISTEN_ADDR
//	starter issue -f invoice.json         issue an invoice
//	starter pay -invoice ID -payment-id P -amount 10.00 -currency USD [-paid-at T]
//	starter status ID                     print an invoice's collection state
//	starter audit ID                      print an invoice's audit trail
//	starter report kpis|aging|steps|trend|forecast|collectors  print a collections report (table or --json)
//	starter customer ID                   print a customer's balances and payment behaviour
//	starter timeline ID [-limit N]        print every interaction with a customer, newest first
//	starter note ID -text TEXT            add a note to a customer's timeline
//	starter statement ID [-o file.pdf]    a customer's statement (JSON, or the PDF to a file)
//	starter statements schedule|list|trigger  statement schedules (directly in Temporal)
//	starter letters [-status S]           letters of letter steps, by default those to print
//	starter letter pdf ID -o file.pdf     a letter's PDF; starter letter mailed ID: say it was mailed
//	starter keys create|list|revoke       manage API keys (directly in PostgreSQL)
//	starter webhooks parked [--held]      payment webhook events parked for an operator
//	starter webhooks retry ID             send a parked webhook event back to be applied
//	starter dispute|promise|plan|pause|resume|approve|reject|cancel|write-off|refund|adjust ID [flags]
//	                                      operator actions (see usage)
//	starter policy validate|preview       check policy files; print an invoice's timeline (local)
//	starter template preview -name N      render a reminder template (offline)
//
// The CLI talks to DUNWELL_API_URL (default http://127.0.0.1:8080) with the API key in
// DUNWELL_API_KEY; `starter keys` is an admin tool that uses DATABASE_URL instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // customer timezones must resolve on minimal images too
)

const usage = `usage: starter <command> [flags]

commands:
  serve     serve the HTTP API (configuration from the environment; see docs/operations.md)
  issue     issue an invoice:          starter issue -f invoice.json
  pay       apply a payment:           starter pay -invoice INV-1 -payment-id pay_1 -amount 10.00 -currency USD
  status    show an invoice's state:   starter status INV-1
  audit     show an invoice's audit trail: starter audit INV-1
  report    collections reports:       starter report kpis|aging|steps|trend|forecast|collectors [--from D --to D --currency C] [--json]
  customer  a customer's behaviour:    starter customer C-42 [--json]
  timeline  a customer's interactions: starter timeline C-42 [-limit N] [-kind note,payment] [-before CURSOR] [--json]
  note      note on a customer:        starter note C-42 -text "Called: will pay Friday" [-invoice INV-1]
  tasks     collectors' tasks by priority: starter tasks [-status open] [-kind call] [-assignee NAME] [--json]
  task      one task:                  starter task complete ID -outcome promised -note TEXT [-promise-date D -promise-amount A]
                                       starter task snooze ID -until DATE | assign ID -assignee NAME | show ID
  statement a customer's statement:    starter statement C-42 [-o statement.pdf] [-as-of DATE] [-since DATE]
  statements  statement schedules (admin): starter statements schedule | list | trigger NAME
  keys      manage API keys (admin):   starter keys create --name ci --scope invoices:write,read
                                       starter keys list | starter keys revoke ID|NAME
  webhooks  parked payment webhooks:   starter webhooks parked [--held] | starter webhooks retry ID
  bank      bank statements:           starter bank import statement.camt053.xml | starter bank unmatched
                                       starter bank match ID INV [INV ...] | starter bank ignore ID -reason TEXT
  letters   the letter outbox:         starter letters [-status to_print|sent|mailed|failed|all] [-customer C] [--json]
  letter    one letter:                starter letter pdf ID -o letter.pdf | starter letter mailed ID
  portal-link  a link to a customer's portal page: starter portal-link C-42 | starter portal-link revoke C-42 [LINK_ID]
  plan-requests  plans asked for on the portal: starter plan-requests [pending|all] | starter plan-requests approve|reject ID [-reason TEXT]
  policy    check and preview policies (local): starter policy validate policies/
                                       starter policy preview standard -f invoice.json
  template  preview a reminder:        starter template preview -name overdue -channel sms -locale de-DE -currency EUR

operator actions (each prints the invoice's new status and balance):
  dispute INV -reason TEXT [-id D] [-resolve-by DATE]
  resolve-dispute INV -outcome resolved|upheld [-adjust AMOUNT | -cancel] [-reason TEXT]
  promise INV -date DATE|RFC3339 -amount AMOUNT [-reason TEXT]
  plan INV -installment DATE=AMOUNT [-installment ...] [-grace DAYS]
  pause INV -reason TEXT [-until DATE|RFC3339]     resume INV [-reason TEXT]
  approve INV [-reason TEXT]                       reject INV [-reason TEXT]
  cancel INV -reason TEXT                          write-off INV -reason TEXT
  refund INV -refund-id R -amount AMOUNT -currency CUR [-kind chargeback] [-payment-id P]
  adjust INV -adjustment-id A -kind adjustment|credit_note -amount AMOUNT -currency CUR -reason TEXT
  change-policy INV -policy ID -reason TEXT        move a running invoice to a policy's current version
  due-date INV -date YYYY-MM-DD -reason TEXT       move the due date; the schedule follows

The CLI calls the API at DUNWELL_API_URL (default http://127.0.0.1:8080), sending
DUNWELL_API_KEY as its Bearer key. "starter keys" talks to PostgreSQL directly at
DATABASE_URL, so run it where the ledger database is reachable.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// printCommands are the commands that take only their arguments and print to
// standard output.
var printCommands = map[string]func(context.Context, []string, io.Writer) error{
	"pay": pay, "status": status, "audit": audit, "report": report, "customer": customer,
	"timeline": timelineCmd, "note": noteCmd, "keys": keys, "webhooks": webhooksCmd, "statement": statementCmd,
	"bank": bankCmd, "statements": statementsCmd,
	"portal-link": portalLink, "plan-requests": planRequests,
	"letters": lettersCmd, "letter": letterCmd,
	"tasks": tasksCmd, "task": taskCmd,
}

// run executes one command and returns the process exit code: 0 success, 1 failure,
// 2 usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:])
	case "issue":
		err = issue(ctx, args[1:], stdin, stdout)
	case "dispute", "resolve-dispute", "promise", "plan", "pause", "resume", "approve", "reject",
		"cancel", "write-off", "refund", "adjust", "change-policy", "due-date":
		err = operatorAction(ctx, args[0], args[1:], stdout)
	case "policy":
		err = policyCmd(args[1:], stdin, stdout, stderr)
	case "template":
		err = templateCmd(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		cmd, ok := printCommands[args[0]]
		if !ok {
			fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
			return 2
		}
		err = cmd(ctx, args[1:], stdout)
	}
	var usageErr usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usageErr), errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stderr, err)
		return 2
	default:
		slog.New(slog.NewTextHandler(stderr, nil)).Error("starter "+args[0]+" failed", "error", err)
		return 1
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
