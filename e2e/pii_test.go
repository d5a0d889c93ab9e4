package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/dunwell/dunwell/internal/codec"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// TestCustomerPIIIsEncryptedInHistory issues an invoice, waits for its reminder (so
// the workflow and an activity have run), and reads the raw history without the
// codec: the customer's name, email and phone appear in no event, neither in the
// JSON form nor in the protobuf bytes. The codec endpoint then decodes the payloads
// and the email is back.
func TestCustomerPIIIsEncryptedInHistory(t *testing.T) {
	t.Parallel()
	id := "E2E-PII"
	inv := invoice(id)
	cust := inv["customer"].(map[string]any)
	cust["name"] = "Grace Brewster Hopper"
	cust["phone"] = "+14155550199"
	email, name, phone := cust["email"].(string), cust["name"].(string), cust["phone"].(string)
	code, body := call(t, http.MethodPost, "/v1/invoices", inv)
	require.Equal(t, http.StatusCreated, code, body)
	defer func() {
		_ = env.client.TerminateWorkflow(context.Background(), invoiceapi.WorkflowID(id), "", "test done")
	}()

	eventually(t, 60*time.Second, "the first reminder in the outbox", func() bool { return len(outboxFor(id)) > 0 })
	require.Contains(t, outboxFor(id)[0].To, email, "the worker decrypted the invoice to send the reminder")

	raw := env.temporal.Client() // the default data converter: no codec
	it := raw.GetWorkflowHistory(context.Background(), invoiceapi.WorkflowID(id), "", false, 0)
	var payloads []*commonpb.Payload
	encrypted, events := 0, 0
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		events++
		text, err := protojson.Marshal(ev)
		require.NoError(t, err)
		wire, err := proto.Marshal(ev)
		require.NoError(t, err)
		for _, pii := range []string{email, name, phone} {
			require.NotContains(t, string(text), pii, "event %d (%s) as JSON", ev.GetEventId(), ev.GetEventType())
			require.False(t, bytes.Contains(wire, []byte(pii)), "event %d (%s) carries %q in its bytes", ev.GetEventId(), ev.GetEventType(), pii)
		}
		for _, p := range eventPayloads(ev) {
			payloads = append(payloads, p)
			if string(p.GetMetadata()[converter.MetadataEncoding]) == codec.MetadataEncodingEncrypted {
				encrypted++
				require.Equal(t, env.codecKeys.PrimaryID(), string(p.GetMetadata()[codec.MetadataEncryptionKeyID]))
			}
		}
	}
	require.Greater(t, events, 5)
	require.NotEmpty(t, payloads)
	require.Equal(t, len(payloads), encrypted, "every payload in the history is encrypted")

	// The codec endpoint (what the Temporal UI calls) decodes them.
	reqBody, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	decode := func(key string) (int, []byte) {
		req, err := http.NewRequest(http.MethodPost, env.api.URL+"/codec/decode", bytes.NewReader(reqBody))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", env.temporal.Namespace())
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, data
	}
	code, _ = decode("")
	require.Equal(t, http.StatusUnauthorized, code, "the codec endpoint decodes PII only for a key with the read scope")
	code, data := decode(env.apiKey)
	require.Equal(t, http.StatusOK, code, string(data))
	var decoded commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(data, &decoded))
	require.Len(t, decoded.Payloads, len(payloads))
	found := false
	for _, p := range decoded.Payloads {
		require.NotEqual(t, codec.MetadataEncodingEncrypted, string(p.GetMetadata()[converter.MetadataEncoding]))
		found = found || strings.Contains(string(p.GetData()), email)
	}
	require.True(t, found, "the decoded payloads hold the customer's email")
}

// eventPayloads collects the payloads of the events that carry the invoice or an
// activity's input and result.
func eventPayloads(ev *historypb.HistoryEvent) []*commonpb.Payload {
	var ps []*commonpb.Payload
	add := func(p *commonpb.Payloads) { ps = append(ps, p.GetPayloads()...) }
	add(ev.GetWorkflowExecutionStartedEventAttributes().GetInput())
	add(ev.GetActivityTaskScheduledEventAttributes().GetInput())
	add(ev.GetActivityTaskCompletedEventAttributes().GetResult())
	add(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult())
	add(ev.GetWorkflowExecutionSignaledEventAttributes().GetInput())
	add(ev.GetMarkerRecordedEventAttributes().GetDetails()["data"])
	add(ev.GetMarkerRecordedEventAttributes().GetDetails()["result"]) // a local activity's result
	return ps
}
