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
