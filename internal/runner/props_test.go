package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestPostPropsIsLlamaServersWithAndWithoutTheFlag(t *testing.T) {
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	off := &fixture{base: serveRunner(t, Config{ModelPath: model, CtxSize: 512})}
	status, body := off.post(t, "/props", map[string]any{})
	if status != http.StatusNotImplemented || !strings.Contains(string(body), "not_supported_error") || !strings.Contains(string(body), "--props") {
		t.Errorf("POST /props without --props: %d %s, want 501 not_supported_error naming --props", status, body)
	}
	on := &fixture{base: serveRunner(t, Config{ModelPath: model, CtxSize: 512, Props: true})}
	status, body = on.post(t, "/props", map[string]any{"n_predict": 5})
	if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"success":true}` {
		t.Errorf("POST /props with --props: %d %s, want 200 {\"success\":true}", status, body)
	}
	_, raw := on.get(t, "/props")
	var props struct {
		EndpointProps bool `json:"endpoint_props"`
	}
	if json.Unmarshal(raw, &props) != nil || !props.EndpointProps {
		t.Errorf("GET /props with --props: %s, want endpoint_props true", raw)
	}
}
