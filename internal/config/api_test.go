package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestAPIRateLimit(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  APIRateLimit
		bad   string // part of the error; "" means valid
	}{
		{"", APIRateLimit{PerSecond: 100, Burst: 200}, ""}, // the default
		{"20", APIRateLimit{PerSecond: 20, Burst: 40}, ""},
		{"20,5", APIRateLimit{PerSecond: 20, Burst: 5}, ""},
		{" 0.5 , 1 ", APIRateLimit{PerSecond: 0.5, Burst: 1}, ""},
		{"0.1", APIRateLimit{PerSecond: 0.1, Burst: 1}, ""},
		{"off", APIRateLimit{}, ""},
		{"0", APIRateLimit{}, "RATE[,BURST]"},
		{"-3", APIRateLimit{}, "RATE[,BURST]"},
		{"fast", APIRateLimit{}, "RATE[,BURST]"},
		{"NaN", APIRateLimit{}, "RATE[,BURST]"},
		{"10,0", APIRateLimit{}, "burst"},
		{"10,2.5", APIRateLimit{}, "burst"},
		{"10,", APIRateLimit{}, "burst"},
		{"2000000", APIRateLimit{}, "at most"},
	} {
		c, err := load(env(map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys,
			"DUNWELL_RATE_LIMIT": tc.value}))
		if tc.bad == "" {
			if err != nil || c.APIRateLimit != tc.want {
				t.Errorf("%q: got %+v, %v; want %+v", tc.value, c, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "DUNWELL_RATE_LIMIT: ") || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("%q: error %v does not name DUNWELL_RATE_LIMIT and %q", tc.value, err, tc.bad)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []netip.Prefix
		bad   string
	}{
		{"", nil, ""}, // the default: nobody
		{"10.0.0.0/8, 192.168.1.7", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}, ""},
		{"fd00::/8,::1", []netip.Prefix{netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("::1/128")}, ""},
		{"10.0.0.1/8", nil, "did you mean 10.0.0.0/8"},
		{"proxy.internal", nil, "neither a CIDR"},
		{"10.0.0.0/33", nil, "not a CIDR"},
	} {
		c, err := load(env(map[string]string{"DATABASE_URL": "postgres://u@localhost/db", "DUNWELL_CODEC_KEYS": testKeys,
			"DUNWELL_TRUSTED_PROXIES": tc.value}))
		if tc.bad == "" {
			if err != nil || !reflect.DeepEqual(c.TrustedProxies, tc.want) {
				t.Errorf("%q: got %v, %v; want %v", tc.value, c.TrustedProxies, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "DUNWELL_TRUSTED_PROXIES: ") || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("%q: error %v does not name DUNWELL_TRUSTED_PROXIES and %q", tc.value, err, tc.bad)
		}
	}
}
