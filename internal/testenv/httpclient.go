package testenv

import "net/http"

// httptest.Server.Close closes the idle connections of http.DefaultTransport, which
// breaks a request that a parallel test is just starting on one of them ("http:
// CloseIdleConnections called"). Tests whose package closes its own test servers
// while other tests send requests use a transport of their own instead.

// Transport is a transport for tests, like http.DefaultTransport but not closed by
// httptest.Server.Close: give it to the provider clients a test builds.
var Transport http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()

// IsolateDefaultClient gives http.DefaultClient (and so http.Get and http.Post)
// Transport; a test binary calls it in TestMain.
func IsolateDefaultClient() {
	http.DefaultClient = &http.Client{Transport: Transport}
}
