package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// expectRefusal posts body and requires a 400 in OpenAI's error shape whose message contains want.
func (f *fixture) expectRefusal(t *testing.T, path string, body any, want string) {
	t.Helper()
	status, raw := f.post(t, path, body)
	var e openAIError
	if status != http.StatusBadRequest || json.Unmarshal(raw, &e) != nil || e.Error.Code != http.StatusBadRequest ||
		!strings.Contains(e.Error.Message, want) {
		t.Errorf("POST %s %v: %d %s, want 400 with a message containing %s", path, body, status, raw, want)
	}
}
