package runner

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func decodeBody(body string, v any) *apiError {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	s := &Server{cfg: Config{MaxBodyBytes: defaultMaxBodyBytes}}
	return s.decodeJSON(httptest.NewRecorder(), r, v)
}

func TestDecodeJSONRejectsMalformedAndMistypedBodies(t *testing.T) {
	for _, c := range []struct{ name, body, wantInMessage string }{
		{"malformed", `{"messages": [`, "invalid JSON"},
		{"empty body", ``, "empty request body"},
		{"not an object", `[1,2]`, "expected a JSON object"},
		{"wrong type", `{"temperature": "hot"}`, `"temperature"`},
		{"trailing data", `{} {}`, "unexpected data"},
		{"stop of numbers", `{"stop": [1, 2]}`, `"stop"`},
		{"content of an image", `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "image_url"},
	} {
		var req chatRequest
		err := decodeBody(c.body, &req)
		if err == nil {
			t.Errorf("%s: accepted %s", c.name, c.body)
			continue
		}
		if err.Status != http.StatusBadRequest || err.Type != typeInvalidRequest {
			t.Errorf("%s: got %d %s, want 400 %s", c.name, err.Status, err.Type, typeInvalidRequest)
		}
		if !strings.Contains(err.Message, c.wantInMessage) {
			t.Errorf("%s: message %q does not mention %q", c.name, err.Message, c.wantInMessage)
		}
	}
}

func TestStopAndContentAcceptBothShapes(t *testing.T) {
	var req chatRequest
	body := `{"stop": "x", "messages": [{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`
	if err := decodeBody(body, &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Stop) != 1 || req.Stop[0] != "x" || req.Messages[0].Content != "ab" {
		t.Fatalf("decoded %+v", req)
	}
	if err := decodeBody(`{"stop": ["a", "b"]}`, &req); err != nil || len(req.Stop) != 2 {
		t.Fatalf("stop array: %v %v", err, req.Stop)
	}
}

func TestPromptShapes(t *testing.T) {
	for _, c := range []struct {
		body       string
		wantText   string
		wantTokens int
		wantErr    bool
	}{
		{`{"prompt": "hi"}`, "hi", 0, false},
		{`{"prompt": ["hi"]}`, "hi", 0, false},
		{`{"prompt": [1, 2, 3]}`, "", 3, false},
		{`{"prompt": ["a", "b"]}`, "", 0, true},
		{`{"prompt": {"x": 1}}`, "", 0, true},
	} {
		var req completionRequest
		err := decodeBody(c.body, &req)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error %v, want error %v", c.body, err, c.wantErr)
			continue
		}
		if err == nil && (req.Prompt.text != c.wantText || len(req.Prompt.tokens) != c.wantTokens) {
			t.Errorf("%s: decoded %+v", c.body, req.Prompt)
		}
	}
}

func TestEmptyMessagesAndMissingRoleAreRefused(t *testing.T) {
	if _, err := chatMessages(nil); err == nil || err.Status != http.StatusBadRequest {
		t.Fatalf("no messages: %v", err)
	}
	if _, err := chatMessages([]chatMessage{{Content: "x"}}); err == nil || !strings.Contains(err.Message, "role") {
		t.Fatalf("missing role: %v", err)
	}
}

func TestEmbeddingInputShapes(t *testing.T) {
	var req embeddingRequest
	if err := decodeBody(`{"input": ["a", "b", [1, 2]]}`, &req); err != nil || len(req.Input) != 3 {
		t.Fatalf("input array: %v %+v", err, req.Input)
	}
	if err := decodeBody(`{"input": "a"}`, &req); err != nil || len(req.Input) != 1 || req.Input[0].text != "a" {
		t.Fatalf("input string: %v %+v", err, req.Input)
	}
	if err := decodeBody(`{"input": 3}`, &req); err == nil {
		t.Fatal("a number was accepted as input")
	}
}
