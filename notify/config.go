package notify

import (
	"fmt"
)

// Config configures both senders.
type Config struct {
	SendGrid SendGridConfig
	Twilio   TwilioConfig
}

// New builds the email and SMS senders; the worker fills cfg from its environment.
func New(cfg Config) (*SendGridSender, *TwilioSender, error) {
	email, err := NewSendGrid(cfg.SendGrid)
	if err != nil {
		return nil, nil, fmt.Errorf("setting up email: %w", err)
	}
	sms, err := NewTwilio(cfg.Twilio)
	if err != nil {
		return nil, nil, fmt.Errorf("setting up SMS: %w", err)
	}
	return email, sms, nil
}
