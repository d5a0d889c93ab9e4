package codec

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

// mount serves the handler as the API does: under /codec/, behind CORS.
func mount(r *KeyRing, origins ...string) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/codec/", CORS(origins, HTTPHandler(r)))
	return httptest.NewServer(mux)
}

func post(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) []byte {
	t.Helper()
	data, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	return data
}

func TestHTTPEncodeDecodeRoundTrip(t *testing.T) {
	srv := mount(ring(t, keySpec(t, "a")))
	defer srv.Close()
	plain, err := converter.GetDefaultDataConverter().ToPayload(ada)
	require.NoError(t, err)

	code, body := post(t, srv.URL+"/codec/encode", payloadsJSON(t, plain))
	require.Equal(t, http.StatusOK, code, string(body))
	var enc commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &enc))
	require.Len(t, enc.Payloads, 1)
	require.Equal(t, MetadataEncodingEncrypted, string(enc.Payloads[0].Metadata[converter.MetadataEncoding]))
	require.False(t, bytes.Contains(enc.Payloads[0].Data, []byte(ada.Email)), "the email in the ciphertext")

	code, body = post(t, srv.URL+"/codec/decode", payloadsJSON(t, enc.Payloads[0], plain))
	require.Equal(t, http.StatusOK, code, string(body))
	var dec commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &dec))
	require.Len(t, dec.Payloads, 2)
	for _, p := range dec.Payloads {
		var got customer
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &got))
		require.Equal(t, ada, got)
	}

	// A payload under a key the server does not have: 400 naming the key id.
	other := New(ring(t, keySpec(t, "gone")))
	gone, err := other.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	code, body = post(t, srv.URL+"/codec/decode", payloadsJSON(t, gone...))
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), `key id "gone", which is not configured`)
}

func TestHTTPErrors(t *testing.T) {
	srv := mount(ring(t, keySpec(t, "a")))
	defer srv.Close()

	big := append([]byte(`{"payloads":[{"data":"`), bytes.Repeat([]byte("A"), MaxBodyBytes)...)
	big = append(big, `"}]}`...)
	code, _ := post(t, srv.URL+"/codec/decode", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)

	for _, body := range []string{"", "{", "[]", `{"payloads": 7}`, `{"payloads":[{"data":"%%%"}]}`, "null", `{"nope":1}`} {
		code, msg := post(t, srv.URL+"/codec/decode", []byte(body))
		require.Equal(t, http.StatusBadRequest, code, "body %q: %s", body, msg)
	}
	code, _ = post(t, srv.URL+"/codec/other", []byte(`{}`))
	require.Equal(t, http.StatusNotFound, code)

	resp, err := http.Get(srv.URL + "/codec/decode")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestCORS(t *testing.T) {
	srv := mount(ring(t, keySpec(t, "a")), "http://localhost:8233")
	defer srv.Close()

	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, srv.URL+"/codec/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := preflight("http://localhost:8233")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
	require.Equal(t, "Content-Type, X-Namespace, Authorization", resp.Header.Get("Access-Control-Allow-Headers"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")

	resp = preflight("http://evil.example")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))

	// The actual request: allowed origin echoed, other origins get no CORS headers.
	for origin, want := range map[string]string{"http://localhost:8233": "http://localhost:8233", "http://evil.example": ""} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/codec/decode", strings.NewReader(`{"payloads":[]}`))
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, want, resp.Header.Get("Access-Control-Allow-Origin"), origin)
	}
}

// FuzzDecodeHandler: whatever the body, the handler neither panics nor answers 5xx;
// anything but a valid request is a 4xx.
func FuzzDecodeHandler(f *testing.F) {
	r := ring(f, keySpec(f, "a"))
	plain, _ := converter.GetDefaultDataConverter().ToPayload(ada)
	enc, _ := New(r).Encode([]*commonpb.Payload{plain})
	good, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	f.Add(good)
	f.Add([]byte(`{"payloads":[{"metadata":{"encoding":"YmluYXJ5L2VuY3J5cHRlZA=="},"data":"AAAA"}]}`))
	f.Add([]byte(`{"payloads":[{"metadata":{"encoding":"YmluYXJ5L2VuY3J5cHRlZA==","encryption-key-id":"YQ=="},"data":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`))
	f.Add([]byte(`{"payloads":[null]}`))
	f.Add([]byte("{"))
	f.Add([]byte{})
	h := HTTPHandler(r)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/codec/decode", bytes.NewReader(body)))
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code == http.StatusOK {
			var out commonpb.Payloads
			if err := protojson.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("200 with a body that is not payloads: %v", err)
			}
		}
	})
}
