package portal

import "net/http"

// Checkout creates Stripe Checkout Sessions for the portal's "pay" form.
type Checkout struct{}

func (s *Server) pay(w http.ResponseWriter, r *http.Request, v *visit) {}
