package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTemplatePreview(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"template", "preview", "-name", "overdue", "-channel", "sms", "-locale", "de-DE",
		"-currency", "EUR", "-amount", "1250.00", "-json"}, nil, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	var got struct {
		Text    string `json:"text"`
		Flagged bool   `json:"flagged"`
		SMS     struct {
			Encoding string `json:"encoding"`
			Segments int    `json:"segments"`
		} `json:"sms"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Contains(t, got.Text, "1.250,00 €")
	require.Contains(t, got.Text, "STOP zum Abmelden")
	require.Equal(t, "GSM-7", got.SMS.Encoding)
	require.False(t, got.Flagged)

	out.Reset()
	code = run(context.Background(), []string{"template", "preview", "-name", "final_notice", "-channel", "sms", "-locale", "ja-JP",
		"-currency", "JPY", "-amount", "125000"}, nil, &out, &errOut)
	require.Equal(t, 0, code)
	require.Contains(t, out.String(), "WARNING: longer than one SMS segment")

	out.Reset()
	code = run(context.Background(), []string{"template", "preview", "-name", "due_soon", "-locale", "en-US"}, nil, &out, &errOut)
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out.String(), "Subject: Invoice INV-1001 is due on"))
	require.Contains(t, out.String(), "<p>Hello Ada Lovelace,</p>")

	errOut.Reset()
	code = run(context.Background(), []string{"template", "preview", "-name", "nope", "-channel", "fax", "-amount", "1.234"}, nil, &out, &errOut)
	require.Equal(t, 2, code)
	for _, want := range []string{"-name", "-channel", "-amount"} {
		require.Contains(t, errOut.String(), want)
	}
	require.Equal(t, 2, run(context.Background(), []string{"template"}, nil, &out, &errOut))
}

func TestTemplateAccount(t *testing.T) {
	t.Setenv("DUNWELL_BUSINESS_NAME", "Acme Supplies")
	t.Setenv("DUNWELL_BUSINESS_ADDRESS", "1 Main St, Springfield")
	t.Setenv("DUNWELL_REPLY_TO", "ar@acme.example")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"template", "account", "-invoices", "3", "-currencies", "USD,EUR", "-fees", "25.00",
		"-template", "overdue_firm", "-json"}, nil, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	var got struct{ Subject, Text, HTML string }
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.True(t, strings.HasPrefix(got.Subject, "Action needed: 3 invoices overdue with Acme Supplies"), got.Subject)
	for _, want := range []string{"INV-1001", "INV-1002", "INV-1003", "Total due in USD: $2,800.00", "Total due in EUR: 1,400.00 EUR",
		"including $25.00 in late fees", "A late fee of 1.5%", "1 Main St, Springfield", "ar@acme.example"} {
		require.Contains(t, got.Text, want)
	}
	require.Contains(t, got.HTML, "<table")

	out.Reset()
	code = run(context.Background(), []string{"template", "account", "-invoices", "10", "-channel", "sms", "-locale", "ja-JP", "-policy", ""}, nil, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "請求書10件")
	require.Contains(t, out.String(), "2 segment(s)")

	errOut.Reset()
	code = run(context.Background(), []string{"template", "account", "-invoices", "0", "-currencies", "usd", "-policy", "nope", "-channel", "fax"}, nil, &out, &errOut)
	require.Equal(t, 2, code)
	for _, want := range []string{"-invoices", "-currencies", "-policy", "-channel"} {
		require.Contains(t, errOut.String(), want)
	}
	t.Setenv("DUNWELL_REPLY_TO", "not an address")
	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), []string{"template", "account"}, nil, &out, &errOut))
	require.Contains(t, errOut.String(), "DUNWELL_REPLY_TO")
}
