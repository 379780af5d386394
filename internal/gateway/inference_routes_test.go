package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every inference route, llama-server's aliases included, reaches the
// backend on the path the client asked for, and its answer names the
// model the client asked for.
func TestEveryInferenceRouteReachesTheBackend(t *testing.T) {
	paths := make(chan string, 1)
	f := newFixture(t, llamaLike(paths), nil)
	for _, rt := range routes {
		a := f.post(rt.path, `{"model":"tiny","prompt":"hi","input":"hi","messages":[],"tokens":[1]}`)
		if a.status != 200 {
			t.Errorf("%s: got %d %s", rt.path, a.status, a.body)
			continue
		}
		if got := receive(t, paths, "the backend's request for "+rt.path); got != rt.path {
			t.Errorf("%s reached the backend as %s", rt.path, got)
		}
		if namesPath(a.body) {
			t.Errorf("%s: the answer names the backend's file: %s", rt.path, a.body)
		}
	}
	m := f.scrape(t)
	for _, label := range []string{"chat", "messages", "responses", "rerank", "infill", "tokenize", "apply_template", "count_tokens", "input_tokens"} {
		if !strings.Contains(m, `custos_requests_total{code="200",model="tiny",route="`+label+`"}`) {
			t.Errorf("/metrics counts no request on route %q", label)
		}
	}
}

// GET on any inference route is 405 with Allow: POST.
func TestGetOnAnInferenceRouteIs405(t *testing.T) {
	f := newFixture(t, llamaLike(nil), nil)
	for _, rt := range routes {
		if a := f.get(rt.path); a.status != 405 || a.header.Get("Allow") != "POST" {
			t.Errorf("GET %s: %d Allow %q", rt.path, a.status, a.header.Get("Allow"))
		}
	}
}

// A model custos does not serve is 404 model_not_found on every route, as
// on chat, and a body naming none 400 missing_model; the backend is not
// asked.
func TestUnknownOrMissingModelIsRefusedOnEveryRoute(t *testing.T) {
	paths := make(chan string, len(routes)*2)
	f := newFixture(t, llamaLike(paths), nil)
	for _, rt := range routes {
		for _, tc := range []struct {
			body   string
			status int
			code   string
		}{
			{`{"model":"nope","prompt":"hi"}`, 404, "model_not_found"},
			{`{"prompt":"hi"}`, 400, "missing_model"},
		} {
			a := f.post(rt.path, tc.body)
			if a.status != tc.status || errorCode(t, rt, a.body) != tc.code {
				t.Errorf("%s %s: got %d %s", rt.path, tc.body, a.status, a.body)
			}
		}
	}
	if len(paths) != 0 {
		t.Fatalf("the backend was asked %d times", len(paths))
	}
}

// errorCode is custos's code in an error answer of the route, checking the
// envelope its clients parse.
func errorCode(t *testing.T, rt route, body string) string {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct{ Type, Message, Code string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Errorf("%s: not an error envelope: %s", rt.path, body)
	}
	if (rt.api == anthropic) != (e.Type == "error") {
		t.Errorf("%s: envelope type %q: %s", rt.path, e.Type, body)
	}
	return e.Error.Code
}

// custos's own errors on the Anthropic routes are in Anthropic's envelope,
// with Anthropic's error types, and keep custos's code.
func TestErrorsOnMessagesAreAnthropicShaped(t *testing.T) {
	f := newFixture(t, llamaLike(nil), nil)
	cases := []struct {
		path, body, anthropicType string
		status                    int
	}{
		{"/v1/messages", `{"model":"nope","messages":[]}`, "not_found_error", 404},
		{"/v1/messages", `{"model":`, "invalid_request_error", 400},
		{"/v1/messages/count_tokens", `{"model":"nope"}`, "not_found_error", 404},
	}
	for _, tc := range cases {
		a := f.post(tc.path, tc.body)
		var e struct {
			Type  string `json:"type"`
			Error struct{ Type, Message, Code string }
		}
		if err := json.Unmarshal([]byte(a.body), &e); err != nil || a.status != tc.status || e.Type != "error" ||
			e.Error.Type != tc.anthropicType || e.Error.Message == "" || e.Error.Code == "" {
			t.Errorf("%s %s: got %d %s", tc.path, tc.body, a.status, a.body)
		}
	}
	f.gate.closed.Store(true)
	a := f.post("/v1/messages", `{"model":"tiny","messages":[]}`)
	if a.status != 503 || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, `"type":"overloaded_error"`) || !strings.Contains(a.body, `"code":"not_ready"`) {
		t.Fatalf("gate closed: %d %v %s", a.status, a.header, a.body)
	}
}

// A /v1 path outside the table is still 404 unknown_route.
func TestUnroutedLlamaServerPathIs404(t *testing.T) {
	f := newFixture(t, llamaLike(nil), nil)
	if a := f.post("/v1/audio/transcriptions", `{"model":"tiny"}`); a.status != 404 || !strings.Contains(a.body, "unknown_route") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}
