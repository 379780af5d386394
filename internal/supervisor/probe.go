package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/health", nil)
	if err != nil {
		return probeResult{progress: -1, err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return probeResult{progress: -1, err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	if resp.StatusCode == http.StatusOK {
		return probeResult{ok: true, progress: -1}
	}
	if err != nil {
		return probeResult{progress: -1, err: fmt.Errorf("health status %d: reading body: %w", resp.StatusCode, err)}
	}
	return probeResult{progress: parseProgress(body), err: fmt.Errorf("health status %d", resp.StatusCode)}
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path, body := "/completion", generationBody
	if embeddings {
		path, body = "/v1/embeddings", embeddingBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+path, bytes.NewReader(body))
	if err != nil {
		return probeResult{progress: -1, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return probeResult{progress: -1, err: fmt.Errorf("generation probe: %w", err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHealthBody))
	if resp.StatusCode != http.StatusOK {
		return probeResult{progress: -1, err: fmt.Errorf("generation probe: status %d", resp.StatusCode)}
	}
	return probeResult{ok: true, progress: -1}
}
