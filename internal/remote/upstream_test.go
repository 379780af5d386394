package remote_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"custos/internal/config"
)

// A replica is sent the model under the name it knows (upstream_model)
// and its own key, never the client's; the client hears the name it
// asked for; the probes carry the key too.
func TestReplicaGetsItsModelNameAndKeyNotTheClients(t *testing.T) {
	var mu sync.Mutex
	var models, auths, probeAuths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/v1/models" {
			probeAuths = append(probeAuths, r.Header.Get("Authorization"))
			_, _ = io.WriteString(w, `{"object":"list","data":[]}`)
			return
		}
		var body struct{ Model string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		models, auths = append(models, body.Model), append(auths, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"chat.completion","model":"big-v2","choices":[{"message":{"content":"ok"}}]}`)
	}))
	t.Cleanup(srv.Close)
	m := remoteModel(srv.URL)
	m.Aliases = []string{"default"}
	m.HealthCheck = config.HealthCheckModels
	m.Remote.UpstreamModel, m.Remote.APIKey = "big-v2", "upstream-key"
	f := startFront(t, m, "", remoteOptions())
	f.waitState(t, srv.URL, "ready")

	req, _ := http.NewRequest("POST", f.url+"/v1/chat/completions", strings.NewReader(`{"model":"default","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer the-clients-key")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"model":"default"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(models) != 1 || models[0] != "big-v2" || auths[0] != "Bearer upstream-key" {
		t.Fatalf("the replica saw model %v with Authorization %v", models, auths)
	}
	if len(probeAuths) == 0 || probeAuths[0] != "Bearer upstream-key" {
		t.Fatalf("the probes (GET /v1/models) carried %v", probeAuths)
	}
}
