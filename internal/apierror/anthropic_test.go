package apierror

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// An error written in Anthropic's envelope carries Anthropic's type for
// it, custos's message and code, the status and Retry-After.
func TestAnthropicEnvelope(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{NotFound("model_not_found", "no such model"), "not_found_error"},
		{BadRequest("invalid_json", "bad"), "invalid_request_error"},
		{Error{Status: 413, Type: TypeInvalidRequest, Code: "body_too_large", Message: "big"}, "request_too_large"},
		{Error{Status: 429, Type: TypeRateLimit, Code: "queue_full", Message: "full"}, "rate_limit_error"},
		{Error{Status: 502, Type: TypeServer, Code: "backend_failed", Message: "failed"}, "api_error"},
		{Unavailable("inference_paused", "paused", time.Second), "overloaded_error"},
		{Forbidden("forbidden", "no"), "permission_error"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		tc.e.WriteIn(rec, Anthropic)
		var got struct {
			Type  string `json:"type"`
			Error struct{ Type, Message, Code string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != tc.e.Status || got.Type != "error" ||
			got.Error.Type != tc.want || got.Error.Message != tc.e.Message || got.Error.Code != tc.e.Code {
			t.Errorf("%s: got %d %s, want type %s", tc.e.Code, rec.Code, rec.Body, tc.want)
		}
		if tc.e.RetryAfter > 0 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tc.e.Code)
		}
	}
	rec := httptest.NewRecorder()
	NotFound("x", "y").Write(rec)
	if rec.Code != http.StatusNotFound || rec.Body.String() != `{"error":{"message":"y","type":"invalid_request_error","code":"x"}}`+"\n" {
		t.Fatalf("the OpenAI envelope changed: %s", rec.Body)
	}
}
