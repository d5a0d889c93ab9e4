package main

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSlowHeadersAreCutOff: a client that starts a request and never finishes its
// headers loses the connection after the read-header timeout instead of holding it.
func TestSlowHeadersAreCutOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	timeouts := apiTimeouts
	timeouts.readHeader = 200 * time.Millisecond
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }), timeouts)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: dunwell\r\nX-Slow: "))
	require.NoError(t, err)
	// A bound for the test itself, far above the timeout: without the timeout the read
	// below would block until this deadline and fail.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err == nil {
		require.True(t, strings.Contains(line, "408"), "answered %q", line)
		return
	}
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the stalled connection open: %v", err)
}

// TestAPITimeoutsAreSet guards the production values.
func TestAPITimeoutsAreSet(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), apiTimeouts)
	require.Equal(t, 5*time.Second, srv.ReadHeaderTimeout)
	require.Equal(t, 30*time.Second, srv.ReadTimeout)
	require.Equal(t, 30*time.Second, srv.WriteTimeout)
	require.Equal(t, 2*time.Minute, srv.IdleTimeout)
}
