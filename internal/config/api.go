package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// APIRateLimit is DUNWELL_RATE_LIMIT: requests per second and burst, per API key (and
// per client address for requests without a valid key). PerSecond 0: no limit.
type APIRateLimit struct {
	// PerSecond is the sustained rate in requests per second; 0 turns limiting off.
	PerSecond float64
	// Burst is how many requests may arrive at once; below 1 means 1.
	Burst int
}

// DefaultAPIRateLimit leaves room for a billing system issuing a month-end batch
// through one key (bench: a spike of invoices arrives well under this per replica)
// while stopping one runaway or stolen key from taking the API's whole capacity.
const DefaultAPIRateLimit = "100,200"

// maxAPIRate bounds DUNWELL_RATE_LIMIT's numbers: beyond it the limit means nothing.
const maxAPIRate = 1_000_000

// ParseAPIRateLimit reads "RATE[,BURST]" (requests per second, then how many may come
// at once; BURST defaults to twice RATE) or "off". Errors describe the value and read
// after the variable's name.
func ParseAPIRateLimit(v string) (APIRateLimit, error) {
	v = strings.TrimSpace(v)
	if v == "off" {
		return APIRateLimit{}, nil
	}
	rateText, burstText, hasBurst := strings.Cut(v, ",")
	perSecond, err := strconv.ParseFloat(strings.TrimSpace(rateText), 64)
	if err != nil || !(perSecond > 0 && perSecond <= maxAPIRate) {
		return APIRateLimit{}, fmt.Errorf("must be RATE[,BURST] (requests per second above 0 and at most %d, then a whole burst) or off, got %q", maxAPIRate, v)
	}
	burst := int(2 * perSecond)
	if hasBurst {
		if burst, err = strconv.Atoi(strings.TrimSpace(burstText)); err != nil || burst < 1 || burst > maxAPIRate {
			return APIRateLimit{}, fmt.Errorf("burst must be a whole number of requests from 1 to %d, got %q", maxAPIRate, v)
		}
	}
	return APIRateLimit{PerSecond: perSecond, Burst: max(burst, 1)}, nil
}

// ParseTrustedProxies reads DUNWELL_TRUSTED_PROXIES: comma-separated CIDRs (or single
// addresses) of the reverse proxies whose X-Forwarded-* headers are believed.
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR like 10.0.0.0/8 nor an IP address", item)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8: %v", item, err)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%q has host bits set; did you mean %s?", item, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}
