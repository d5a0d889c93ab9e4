package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/internal/config"
)

func TestSenderConfigCarriesTheProviders(t *testing.T) {
	cfg := &config.Config{
		SendGrid: config.SendGrid{APIKey: "SG.x", BaseURL: "http://sg.test", From: "billing@dunwell.test", FromName: "Dunwell"},
		Twilio: config.Twilio{AccountSID: "AC1", AuthToken: "tok", FromNumber: "+15005550006", MessagingServiceSID: "MG1",
			StatusCallbackURL: "https://dunwell.test/status", BaseURL: "http://tw.test"},
		ProviderTimeout: 7 * time.Second,
	}
	n := senderConfig(cfg)
	require.Equal(t, "SG.x", n.SendGrid.APIKey)
	require.Equal(t, "http://sg.test", n.SendGrid.BaseURL)
	require.Equal(t, "billing@dunwell.test", n.SendGrid.From)
	require.Equal(t, "Dunwell", n.SendGrid.FromName)
	require.Equal(t, 7*time.Second, n.SendGrid.Timeout)
	require.Equal(t, "AC1", n.Twilio.AccountSID)
	require.Equal(t, "tok", n.Twilio.AuthToken)
	require.Equal(t, "+15005550006", n.Twilio.FromNumber)
	require.Equal(t, "MG1", n.Twilio.MessagingServiceSID)
	require.Equal(t, "https://dunwell.test/status", n.Twilio.StatusCallbackURL)
	require.Equal(t, "http://tw.test", n.Twilio.BaseURL)
	require.Equal(t, 7*time.Second, n.Twilio.Timeout)
}
