package runner

import (
	"fmt"
	"io"
	"net/http"
)

// handleMetrics answers the scheduler's totals in Prometheus' text format, under llama-server's llamacpp:
// names so that dashboards built for llama-server work unchanged.
func (s *Server) handleMetrics(w http.ResponseWriter, _ *http.Request, _ *engine) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	writeMetrics(w, s.snap.Load().stats)
}

// writeMetrics writes st as Prometheus text.
func writeMetrics(w io.Writer, st stats) {
	perDecode := 0.0
	if st.decodes > 0 {
		perDecode = float64(st.busySlotsInDecodes) / float64(st.decodes)
	}
	for _, m := range []struct {
		name, kind, help string
		value            float64
	}{
		{"llamacpp:prompt_tokens_total", "counter", "Number of prompt tokens processed.", float64(st.promptTokens)},
		{"llamacpp:prompt_seconds_total", "counter", "Prompt process time.", st.promptSeconds},
		{"llamacpp:tokens_predicted_total", "counter", "Number of generation tokens processed.", float64(st.predictedTokens)},
		{"llamacpp:tokens_predicted_seconds_total", "counter", "Predict process time.", st.predictedSeconds},
		{"llamacpp:n_decode_total", "counter", "Total number of llama_decode() calls.", float64(st.decodes)},
		{"llamacpp:n_busy_slots_per_decode", "gauge", "Average number of busy slots per llama_decode() call.", perDecode},
		{"llamacpp:prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.", rate(st.promptTokens, st.promptSeconds)},
		{"llamacpp:predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.", rate(st.predictedTokens, st.predictedSeconds)},
		{"llamacpp:kv_cache_tokens", "gauge", "KV-cache tokens.", float64(st.kvTokens)},
		{"llamacpp:requests_processing", "gauge", "Number of requests processing.", float64(st.requestsProcessing)},
		{"llamacpp:requests_deferred", "gauge", "Number of requests deferred.", float64(st.requestsDeferred)},
		{"custos:decode_sequences_max", "gauge", "Most sequences one llama_decode() call carried (above 1: requests shared a batch).", float64(st.maxSequencesPerDecode)},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", m.name, m.help, m.name, m.kind, m.name, m.value)
	}
}

// rate is tokens per second, 0 before any time was spent.
func rate(tokens uint64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(tokens) / seconds
}
