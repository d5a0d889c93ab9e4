package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClassifyTwilio(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status, code int
		want         Kind
	}{
		{400, 21211, KindRecipientInvalid},
		{400, 21610, KindRecipientInvalid}, // unsubscribed
		{400, 21614, KindRecipientInvalid}, // not a mobile number
		{400, 21408, KindRecipientInvalid}, // region not enabled
		{403, 21408, KindRecipientInvalid},
		{400, 21212, KindConfig}, // bad From
		{400, 21606, KindConfig},
		{401, 20003, KindConfig},
		{403, 0, KindConfig},
		{404, 20404, KindConfig},
		{400, 21602, KindBadRequest}, // no body
		{400, 21617, KindBadRequest}, // body too long
		{422, 0, KindBadRequest},
		{429, 20429, KindTransient},
		{400, 20429, KindTransient},
		{500, 20500, KindTransient},
		{503, 0, KindTransient},
		{408, 0, KindTransient},
	} {
		t.Run(fmt.Sprintf("%d/%d", tc.status, tc.code), func(t *testing.T) {
			e := classifyTwilio("send sms", tc.status, tc.code, "m", http.Header{}, nil, time.Now())
			require.Equal(t, tc.want, e.Kind)
			require.Equal(t, tc.want != KindTransient, IsPermanent(fmt.Errorf("wrapped: %w", e)))
		})
	}
}

func TestClassifySendGrid(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		body   string
		want   Kind
		retry  time.Duration
	}{
		{"bad to", 400, nil, `{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email"}]}`, KindRecipientInvalid, 0},
		{"bad cc", 400, nil, `{"errors":[{"message":"x","field":"personalizations.1.cc.2.email"}]}`, KindRecipientInvalid, 0},
		{"to missing", 400, nil, `{"errors":[{"message":"x","field":"personalizations.0.to"}]}`, KindRecipientInvalid, 0},
		{"bad subject", 400, nil, `{"errors":[{"message":"The subject is required.","field":"subject"}]}`, KindBadRequest, 0},
		{"bad from", 400, nil, `{"errors":[{"message":"x","field":"from.email"}]}`, KindBadRequest, 0},
		{"no field", 400, nil, `{"errors":[{"message":"Bad Request","field":null}]}`, KindBadRequest, 0},
		{"not json", 400, nil, `oops`, KindBadRequest, 0},
		{"too large", 413, nil, ``, KindBadRequest, 0},
		{"unauthorized", 401, nil, `{"errors":[{"message":"authorization required"}]}`, KindConfig, 0},
		{"forbidden", 403, nil, `{"errors":[{"message":"access forbidden"}]}`, KindConfig, 0},
		{"redirect", 301, nil, ``, KindConfig, 0},
		{"rate limited, retry-after", 429, http.Header{"Retry-After": {"12"}}, `{"errors":[{"message":"too many requests"}]}`, KindTransient, 12 * time.Second},
		{"rate limited, reset", 429, http.Header{"X-Ratelimit-Reset": {"1700000030"}}, ``, KindTransient, 30 * time.Second},
		{"rate limited, reset passed", 429, http.Header{"X-Ratelimit-Reset": {"1600000000"}}, ``, KindTransient, time.Second},
		{"rate limited, date", 429, http.Header{"Retry-After": {now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, ``, KindTransient, 90 * time.Second},
		{"rate limited, junk", 429, http.Header{"Retry-After": {"soon"}}, ``, KindTransient, 0},
		{"server error", 500, nil, ``, KindTransient, 0},
		{"bad gateway", 502, nil, `<html>`, KindTransient, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			e := classifySendGrid("send email", tc.status, h, tc.body, now)
			require.Equal(t, tc.want, e.Kind)
			require.Equal(t, tc.retry, e.RetryAfter)
			require.Equal(t, tc.status, e.StatusCode)
		})
	}
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	e := &Error{Provider: ProviderTwilio, Op: "send sms", Kind: KindRecipientInvalid, StatusCode: 400, Code: 21211,
		Message: "Invalid 'To' Phone Number: 12"}
	require.Equal(t, "twilio send sms: recipient invalid (HTTP 400, code 21211): Invalid 'To' Phone Number: 12", e.Error())
	wrapped := fmt.Errorf("sending notice: %w", e)
	require.True(t, IsPermanent(wrapped))
	require.True(t, IsRecipientInvalid(wrapped))
	require.Equal(t, KindRecipientInvalid, KindOf(wrapped))

	rl := &Error{Provider: ProviderSendGrid, Op: "send email", Kind: KindTransient, StatusCode: 429, RetryAfter: 3 * time.Second}
	require.Equal(t, "sendgrid send email: transient (HTTP 429) (retry after 3s)", rl.Error())
	require.Equal(t, 3*time.Second, RetryAfter(fmt.Errorf("x: %w", rl)))
	require.False(t, IsPermanent(rl))

	plain := errors.New("boom")
	require.False(t, IsPermanent(plain))
	require.False(t, IsRecipientInvalid(plain))
	require.Zero(t, RetryAfter(plain))
	require.Zero(t, KindOf(nil))
	require.Equal(t, "kind(0)", Kind(0).String())

	netErr := &Error{Provider: ProviderTwilio, Op: "find sms", Kind: KindTransient, Err: plain}
	require.ErrorIs(t, netErr, plain)
	require.Equal(t, "twilio find sms: transient: boom", netErr.Error())
}

func TestRequestFailed(t *testing.T) {
	t.Parallel()
	live := context.Background()
	err := requestFailed(live, ProviderTwilio, "send sms", fmt.Errorf("post: %w", context.DeadlineExceeded))
	require.Equal(t, KindTransient, KindOf(err))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	err = requestFailed(canceled, ProviderTwilio, "send sms", errors.New("connection reset"))
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, KindOf(err))
}
