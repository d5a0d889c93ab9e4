package testenv

import "net/http"

// IsolateDefaultClient gives http.DefaultClient (and http.Get, http.Post) a transport
// of its own. httptest.Server.Close closes the idle connections of
// http.DefaultTransport, which breaks a request that a parallel test is just
// starting on one of them ("http: CloseIdleConnections called"); a test binary whose
// tests close their own servers while others send requests calls this in TestMain.
func IsolateDefaultClient() {
	http.DefaultClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}
