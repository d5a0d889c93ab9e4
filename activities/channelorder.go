package activities

import (
	"context"
	"errors"

	"github.com/dunwell/dunwell/policy"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// ChannelOrder implements invoiceapi.ActivityChannelOrder: the customer's order of
// the message channels from the ledger (contact_preferences), none when they never
// chose one.
func (a *Activities) ChannelOrder(ctx context.Context, req invoiceapi.ChannelOrderRequest) (invoiceapi.ChannelOrderResult, error) {
	if req.CustomerID == "" {
		return invoiceapi.ChannelOrderResult{}, badRequest(errors.New("channel order: customer_id is required"))
	}
	o, ok, err := a.Ledger.CustomerChannelOrder(ctx, req.CustomerID)
	if err != nil {
		return invoiceapi.ChannelOrderResult{}, ledgerFailed("reading the channel order of customer "+req.CustomerID, err)
	}
	var res invoiceapi.ChannelOrderResult
	if ok {
		for _, ch := range o.Order {
			res.Order = append(res.Order, policy.Channel(ch))
		}
	}
	return res, nil
}
