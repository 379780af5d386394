package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"custos/internal/config"
	"custos/internal/gguf"
	"custos/internal/supervisor"
)

func TestForwardsToTheBackendByModelOrAlias(t *testing.T) {
	var gotPath, gotBody string
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		b := make([]byte, 1024)
		n, _ := r.Body.Read(b)
		gotBody = string(b[:n])
		ok(w, r)
	}), nil)
	body := `{"model":"default","messages":[]}`
	a := f.post("/v1/chat/completions", body)
	if a.status != 200 || !strings.Contains(a.body, "hello") || gotPath != "/v1/chat/completions" || gotBody != body {
		t.Fatalf("got %d %s (backend saw %s %s)", a.status, a.body, gotPath, gotBody)
	}
	if a.header.Get("X-Custos-Backend") != "" {
		t.Fatal("a local answer must not claim the fallback")
	}
}

func TestErrorsAreOpenAIShaped(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), func(c *config.Config) { c.MaxBodyBytes = 64 })
	cases := []struct {
		path, body string
		status     int
		code       string
	}{
		{"/v1/chat/completions", `{"model":"nope"}`, 404, "model_not_found"},
		{"/v1/chat/completions", `{"model":`, 400, "invalid_json"},
		{"/v1/chat/completions", `{"model":"tiny","pad":"` + strings.Repeat("x", 100) + `"}`, 413, "body_too_large"},
		{"/v1/unknown", `{}`, 404, "unknown_route"},
	}
	for _, tc := range cases {
		a := f.post(tc.path, tc.body)
		var e struct {
			Error struct{ Message, Type, Code string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(a.body), &e); err != nil || a.status != tc.status || e.Error.Code != tc.code || e.Error.Message == "" || e.Error.Type == "" {
			t.Errorf("%s %.30s: got %d %s", tc.path, tc.body, a.status, a.body)
		}
	}
}

func TestGateClosedAnswers503WithRetryAfter(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	f.gate.closed.Store(true)
	for _, a := range []answer{f.post("/v1/chat/completions", chatBody), f.get("/v1/models"), f.get("/v1/unknown")} {
		if a.status != 503 || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "not_ready") {
			t.Fatalf("got %d %v %s", a.status, a.header, a.body)
		}
	}
}

// Requests answered before they reach a model still show on /metrics,
// under one model label, whatever model name they asked for.
func TestRejectedRequestsAreCounted(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	f.post("/v1/chat/completions", `{"model":"nope-1","messages":[]}`)
	f.post("/v1/chat/completions", `{"model":"nope-2","messages":[]}`)
	f.post("/v1/embeddings", `{"model":`)
	f.gate.closed.Store(true)
	f.post("/v1/chat/completions", chatBody)
	got := f.scrape(t)
	for _, want := range []string{
		`custos_requests_total{code="404",model="-",route="chat"} 2`,
		`custos_requests_total{code="400",model="-",route="embeddings"} 1`,
		`custos_requests_total{code="503",model="-",route="chat"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(got, "nope-") {
		t.Error("an unknown model name became a label")
	}
}

func TestDrainRejectsNewRequests(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	f.gw.Drain()
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 503 || !strings.Contains(a.body, "shutting_down") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

func TestUnhealthyWithoutFallbackAnswers503(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy; s.LastExit = "exit status 1" })
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 503 || !strings.Contains(a.body, "model_unhealthy") || a.header.Get("Retry-After") == "" {
		t.Fatalf("got %d %v %s", a.status, a.header, a.body)
	}
}

func TestModelsListsModelsAndAliasesWithState(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), func(c *config.Config) {
		c.Models[0].Info = &gguf.Info{Architecture: "llama", ParameterCount: 42, ContextLength: 2048}
	})
	resp, err := http.Get(f.server.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string
			Custos struct {
				Status        string
				AliasOf       string `json:"alias_of"`
				Architecture  string
				ContextLength int `json:"context_length"`
			} `json:"custos"`
		} `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	if list.Object != "list" || len(list.Data) != 2 || list.Data[0].ID != "tiny" || list.Data[1].ID != "default" ||
		list.Data[1].Custos.AliasOf != "tiny" || list.Data[0].Custos.Status != "ok" ||
		list.Data[0].Custos.Architecture != "llama" || list.Data[1].Custos.ContextLength != 2048 {
		t.Fatalf("got %+v", list)
	}
}
