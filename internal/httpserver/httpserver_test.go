package httpserver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, h http.Handler, readTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(h, Options{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: readTimeout})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI-shaped error: %q", body)
	}
	return e.Error.Code
}

// A known path asked with the wrong method is 405 with Allow, not 404,
// and an unknown path is 404: both in the error shape clients parse.
func TestWrongMethodIs405WithAllowAndUnknownPathIs404(t *testing.T) {
	m := NewMux()
	m.HandleFunc("POST", "/v1/chat/completions", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	m.HandleFunc("GET", "/status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	m.HandleFunc("POST", "/status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	m.HandleFunc("", "/v1/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(418) })
	cases := []struct {
		method, path string
		status       int
		allow, code  string
	}{
		{"POST", "/v1/chat/completions", 204, "", ""},
		{"GET", "/v1/chat/completions", 405, "POST", "method_not_allowed"},
		{"DELETE", "/status", 405, "GET, POST, HEAD", "method_not_allowed"},
		{"HEAD", "/status", 204, "", ""},
		{"GET", "/v1/other", 418, "", ""},
		{"GET", "/nowhere", 404, "", "unknown_route"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: got %d Allow %q, want %d Allow %q", tc.method, tc.path, rec.Code, rec.Header().Get("Allow"), tc.status, tc.allow)
			continue
		}
		if tc.code != "" {
			if got := errorCode(t, rec.Body.Bytes()); got != tc.code {
				t.Errorf("%s %s: code %q, want %q", tc.method, tc.path, got, tc.code)
			}
		}
	}
}

// Content-Length is a client's claim: a body that declares 8 MiB and
// brings a few bytes must cost a few bytes, not 8 MiB.
func TestBodyMemoryFollowsTheBytesReceivedNotTheBytesDeclared(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"model":"tiny"}`))
	r.ContentLength = 8 << 20
	b, err := ReadBody(r, 8<<20)
	if err != nil || string(b) != `{"model":"tiny"}` {
		t.Fatalf("got %q, %v", b, err)
	}
	if cap(b) > 64<<10 {
		t.Fatalf("reading a 16-byte body declared as 8 MiB reserved %d bytes", cap(b))
	}
	big := strings.Repeat("x", 1<<20)
	r = httptest.NewRequest("POST", "/", strings.NewReader(big))
	if b, err := ReadBody(r, 1<<20); err != nil || len(b) != 1<<20 {
		t.Fatalf("a 1 MiB body within a 1 MiB limit: %d bytes, %v", len(b), err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(big+"x"))
	if _, err := ReadBody(r, 1<<20); err != ErrBodyTooLarge {
		t.Fatalf("one byte over: %v", err)
	}
}

// A client that declares a body and trickles it is cut off after
// read_timeout with 408, at once (net/http would otherwise wait for the
// rest of a small body before answering); the body deadline does not outlive the body, so
// an answer streamed for longer than read_timeout is not cut.
func TestTrickledBodyIsCutOffAndALongAnswerIsNot(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := ReadBody(r, 1<<20); err != nil {
			BodyError(err, 1<<20, "max_body_bytes").Write(w)
			return
		}
		for i := range 4 {
			fmt.Fprintf(w, "chunk %d\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(readTimeout / 2):
			}
		}
	}), readTimeout)

	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || errorCode(t, body) != "body_timeout" {
		t.Fatalf("got %d %s, want 408 body_timeout", resp.StatusCode, body)
	}

	client := &http.Client{Timeout: 20 * time.Second}
	r, err := client.Post("http://"+addr+"/", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	got, err := io.ReadAll(r.Body)
	if err != nil || strings.Count(string(got), "chunk") != 4 {
		t.Fatalf("an answer longer than read_timeout was cut: %q, %v", got, err)
	}
}
