package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// forwardedHeaders are what a reverse proxy says about the original request. Only a
// proxy in Server.TrustedProxies may say it: from anyone else they are removed before
// any handler runs, so "X-Forwarded-Proto: https" from a client cannot make the
// session cookie's attributes (auth.SessionHandler) or the client address (rate
// limits) be what the client claims.
var forwardedHeaders = []string{"X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded"}

// remoteAddr is the address of the connection's peer, or the zero Addr.
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// dropUntrustedForwarding removes the forwarding headers of a request that did not
// come from a trusted proxy.
func (s *Server) dropUntrustedForwarding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.trusted(remoteAddr(r)) {
			for _, h := range forwardedHeaders {
				r.Header.Del(h)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address the request came from: the peer's, or, when the peer is a
// trusted proxy, the nearest address in X-Forwarded-For that is not a trusted proxy
// (read from the right: the entries to the left of it were written by the client and
// prove nothing).
func (s *Server) clientIP(r *http.Request) string {
	peer := remoteAddr(r)
	if !s.trusted(peer) {
		if !peer.IsValid() {
			return r.RemoteAddr
		}
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: trust nothing further left
		}
		client = a.Unmap()
		if !s.trusted(client) {
			break
		}
	}
	return client.String()
}
