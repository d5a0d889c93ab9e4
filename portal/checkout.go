package portal

import "net/http"

// Checkout creates Stripe Checkout Sessions for the portal's "pay" form.
type Checkout struct{}

// pay serves the pay form: without Checkout there is nothing to post to (each invoice
// links its payment_url), so it is 404 like any unknown page.
func (s *Server) pay(w http.ResponseWriter, r *http.Request, v *visit) {
	if s.Checkout == nil {
		s.problem(w, http.StatusNotFound, v.w, "notfound")
		return
	}
}
