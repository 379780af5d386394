package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"time"

	"custos/internal/quickack"
)

// maxHealthBody bounds how much of a /health answer is read: enough for any
// status JSON, and a backend gone mad cannot make custos buffer megabytes.
const maxHealthBody = 64 << 10

// probeResult is the outcome of one GET /health.
type probeResult struct {
	// ok is true when the backend answered 200.
	ok bool
	// progress is the load progress from a non-200 answer, or -1 without one.
	progress float64
	// err says why the probe did not get 200 (transport error or status).
	err error
	// status is the answer's status, 0 when none came.
	status int
}

// newProbeClient is the HTTP client of one backend's probes. Timeouts are
// per probe (probeHealth's context), not on the client, so one place decides.
// Its connections acknowledge at once (package quickack), so a backend
// without TCP_NODELAY is not noticed ready a delayed ACK late.
func newProbeClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&quickack.Dialer{}).DialContext,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
	}}
}

// probeHealth asks baseURL+"/health" once and gives up after timeout, so a
// backend that accepts the connection but never answers costs one timeout,
// not a wedged supervisor.
func probeHealth(ctx context.Context, client *http.Client, baseURL string, timeout time.Duration) probeResult {
	return probeGet(ctx, client, baseURL+"/health", nil, timeout)
}

// probeGet asks url once with header and gives up after timeout: 200 is
// healthy; another status may carry load progress.
func probeGet(ctx context.Context, client *http.Client, url string, header http.Header, timeout time.Duration) probeResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return probeResult{progress: -1, err: err}
	}
	maps.Copy(req.Header, header)
	resp, err := client.Do(req)
	if err != nil {
		return probeResult{progress: -1, err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	if resp.StatusCode == http.StatusOK {
		return probeResult{ok: true, progress: -1, status: resp.StatusCode}
	}
	if err != nil {
		return probeResult{progress: -1, status: resp.StatusCode, err: fmt.Errorf("status %d: reading body: %w", resp.StatusCode, err)}
	}
	return probeResult{progress: parseProgress(body), status: resp.StatusCode, err: fmt.Errorf("status %d", resp.StatusCode)}
}

// parseProgress reads the load progress a loading backend reports in its
// /health body as {"progress": P} with P in [0,1]; -1 when there is none.
func parseProgress(body []byte) float64 {
	var v struct {
		Progress *float64 `json:"progress"`
	}
	if json.Unmarshal(body, &v) != nil || v.Progress == nil {
		return -1
	}
	if p := *v.Progress; p >= 0 && p <= 1 {
		return p
	}
	return -1
}

// generationBody asks for one token, or, for an embeddings model, one
// embedding: the least work that proves the backend can infer.
var (
	generationBody = []byte(`{"prompt":"ok","n_predict":1,"cache_prompt":false}`)
	embeddingBody  = []byte(`{"input":"ok"}`)
)

// probeGeneration asks the backend for one token (POST /completion, which
// llama-server and custos runner both serve) or one embedding (POST
// /v1/embeddings) and gives up after timeout: a backend that answers
// /health but fails every inference fails this.
func probeGeneration(ctx context.Context, client *http.Client, baseURL string, timeout time.Duration, embeddings bool) probeResult {
	path, body := "/completion", generationBody
	if embeddings {
		path, body = "/v1/embeddings", embeddingBody
	}
	return probePost(ctx, client, baseURL+path, body, nil, timeout)
}

// probePost sends body to url once with header and gives up after
// timeout; only 200 passes.
func probePost(ctx context.Context, client *http.Client, url string, body []byte, header http.Header, timeout time.Duration) probeResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return probeResult{progress: -1, err: err}
	}
	maps.Copy(req.Header, header)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return probeResult{progress: -1, err: fmt.Errorf("generation probe: %w", err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHealthBody))
	if resp.StatusCode != http.StatusOK {
		return probeResult{progress: -1, status: resp.StatusCode, err: fmt.Errorf("generation probe: status %d", resp.StatusCode)}
	}
	return probeResult{ok: true, progress: -1, status: resp.StatusCode}
}

// ProbeOutcome is one probe of a backend custos does not run (package
// remote), judged by the same rules as a supervised backend's probes.
type ProbeOutcome struct {
	// OK: the backend answered 200.
	OK bool
	// Progress is the load progress a non-200 answer reported, or -1.
	Progress float64
	// Err says why the probe did not get 200.
	Err error
	// Status is the answer's status; 0 when the server was not reached
	// or did not answer in time.
	Status int
}

func (r probeResult) outcome() ProbeOutcome {
	return ProbeOutcome{OK: r.ok, Progress: r.progress, Err: r.err, Status: r.status}
}

// ProbeGet is one GET of url with header (GET /health, or /v1/models of an
// OpenAI-compatible server without /health), bounded by timeout.
func ProbeGet(ctx context.Context, client *http.Client, url string, header http.Header, timeout time.Duration) ProbeOutcome {
	return probeGet(ctx, client, url, header, timeout).outcome()
}

// ProbeChat asks an OpenAI-compatible server for a one-token chat
// completion of model, bounded by timeout: the generation probe of a
// server whose native routes custos cannot count on.
func ProbeChat(ctx context.Context, client *http.Client, baseURL, model string, header http.Header, timeout time.Duration) ProbeOutcome {
	name, _ := json.Marshal(model)
	body := []byte(`{"model":` + string(name) + `,"messages":[{"role":"user","content":"ok"}],"max_tokens":1}`)
	return probePost(ctx, client, baseURL+"/v1/chat/completions", body, header, timeout).outcome()
}
