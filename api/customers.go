package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dunwell/dunwell/collection"
	"github.com/dunwell/dunwell/reports"
)

// getCustomer answers GET /v1/customers/{id}: the customer's open invoices and
// balances per currency, payment behaviour and band (docs/kpis.md); 404 for a
// customer without any invoice.
func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !collection.IDPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown customer %q", id), nil)
		return
	}
	if len(r.URL.Query()) > 0 {
		bad := map[string]string{}
		for name := range r.URL.Query() {
			bad[name] = "is not a parameter of this route"
		}
		writeError(w, http.StatusBadRequest, "invalid parameters: "+describe(bad), bad)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	c, err := s.reporter().Customer(ctx, id)
	switch {
	case errors.Is(err, reports.ErrNotFound):
		writeError(w, http.StatusNotFound, "unknown customer "+id, nil)
	case err != nil:
		s.fail(w, r, "reading the customer", err)
	default:
		writeJSON(w, http.StatusOK, c)
	}
}
