package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"custos/internal/supervisor"
)

// A JSON answer names the model the client asked for (here an alias), not
// the backend's file; the other fields that hold the path keep it, and the
// length the client is told is the rewritten body's.
func TestJSONAnswerNamesTheRequestedModel(t *testing.T) {
	f := newFixture(t, llamaLike(nil), nil)
	a := f.post("/v1/chat/completions", `{"model":"default","messages":[]}`)
	var got struct {
		Model             string
		SystemFingerprint string `json:"system_fingerprint"`
		Choices           []struct{ Message struct{ Content string } }
	}
	if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.status != 200 {
		t.Fatalf("got %d %s (%v)", a.status, a.body, err)
	}
	if got.Model != "default" || got.SystemFingerprint != backendPath || got.Choices[0].Message.Content != "read "+backendPath {
		t.Fatalf("got %s", a.body)
	}
	if cl := a.header.Get("Content-Length"); cl != strconv.Itoa(len(a.body)) {
		t.Fatalf("Content-Length %q for a body of %d bytes", cl, len(a.body))
	}
}

// A JSON answer larger than one read, whose model comes after its data as
// llama-server sorts the keys, is rewritten too, and stays valid JSON.
func TestLargeJSONAnswerIsRewrittenAcrossReads(t *testing.T) {
	var embedding strings.Builder
	for i := range 20000 {
		if i > 0 {
			embedding.WriteByte(',')
		}
		fmt.Fprintf(&embedding, "%d.125", i)
	}
	body := `{"data":[{"embedding":[` + embedding.String() + `],"index":0,"object":"embedding"}],"model":"` + backendPath + `","object":"list"}`
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write([]byte(body))
	}), nil)
	a := f.post("/v1/embeddings", `{"model":"tiny","input":"hi"}`)
	want := strings.Replace(body, `"model":"`+backendPath+`"`, `"model":"tiny"`, 1)
	if a.status != 200 || a.err != nil || a.body != want {
		t.Fatalf("got %d (%v), %d bytes, want %d", a.status, a.err, len(a.body), len(want))
	}
}

// Every event of a stream names the requested model, event: lines and all
// other events pass as the backend sent them.
func TestStreamedAnswersNameTheRequestedModel(t *testing.T) {
	f := newFixture(t, llamaLike(nil), nil)
	for _, path := range []string{"/v1/chat/completions", "/v1/messages", "/v1/responses", "/completion"} {
		a := f.post(path, `{"model":"default","stream":true}`)
		events := llamaLikeEvents(path, `"`+backendPath+`"`)
		want := strings.ReplaceAll(strings.Join(events, ""), `"model":"`+backendPath+`"`, `"model":"default"`)
		if a.status != 200 || a.body != want {
			t.Errorf("%s: got %d\n%s\nwant\n%s", path, a.status, a.body, want)
		}
		if path == "/v1/messages" && !strings.Contains(a.body, "event: message_start\ndata: {\"message\":{") {
			t.Errorf("%s: the event: lines were lost: %s", path, a.body)
		}
	}
}

// An answer that is not JSON is passed on as it came, whatever it holds.
func TestNonJSONAnswerPassesUntouched(t *testing.T) {
	body := `{"model":"` + backendPath + `"}`
	for _, ct := range []string{"text/plain", "application/octet-stream", ""} {
		f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write([]byte(body))
		}), nil)
		if a := f.post("/apply-template", `{"model":"tiny","messages":[]}`); a.status != 200 || a.body != body {
			t.Errorf("Content-Type %q: got %d %s", ct, a.status, a.body)
		}
	}
}

// The fallback's answer names the model the client asked for, not the
// fallback's own name for it.
func TestFallbackAnswerNamesTheRequestedModel(t *testing.T) {
	fb := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"model":"remote-tiny","object":"chat.completion"}`))
	}), nil)
	f := newFixture(t, http.HandlerFunc(ok), withFallback(fb.upstream.snap.URL))
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
	if a := f.post("/v1/chat/completions", chatBody); a.status != 200 || a.body != `{"model":"tiny","object":"chat.completion"}` {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

// An encoded answer (compressed, or in an encoding the gateway does not
// know) is passed on as it came: its bytes are not the JSON, even when
// they look like it.
func TestEncodedAnswerPassesUntouched(t *testing.T) {
	body := `{"model":"` + backendPath + `"}`
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "x-identity-like")
		_, _ = w.Write([]byte(body))
	}), nil)
	if a := f.post("/v1/chat/completions", chatBody); a.status != 200 || a.body != body {
		t.Fatalf("got %d %q", a.status, a.body)
	}
}
