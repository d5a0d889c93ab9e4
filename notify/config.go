package notify

import (
	"errors"
	"fmt"

	"github.com/dunwell/dunwell/internal/config"
)

// FromConfig builds the email and SMS senders from Dunwell's configuration
// (SENDGRID_*, EMAIL_FROM*, TWILIO_*, PROVIDER_TIMEOUT).
func FromConfig(cfg *config.Config) (*SendGridSender, *TwilioSender, error) {
	if cfg == nil {
		return nil, nil, errors.New("notify: no configuration")
	}
	email, err := NewSendGrid(SendGridConfig{
		APIKey: cfg.SendGrid.APIKey, From: cfg.SendGrid.From, FromName: cfg.SendGrid.FromName,
		BaseURL: cfg.SendGrid.BaseURL, Timeout: cfg.ProviderTimeout,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("setting up email: %w", err)
	}
	sms, err := NewTwilio(TwilioConfig{
		AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken,
		FromNumber: cfg.Twilio.FromNumber, MessagingServiceSID: cfg.Twilio.MessagingServiceSID,
		StatusCallbackURL: cfg.Twilio.StatusCallbackURL, BaseURL: cfg.Twilio.BaseURL, Timeout: cfg.ProviderTimeout,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("setting up SMS: %w", err)
	}
	return email, sms, nil
}
