package runner

import (
	"strings"
	"testing"
)

func TestMetricsUseLlamaServerNames(t *testing.T) {
	var b strings.Builder
	writeMetrics(&b, stats{promptTokens: 12, predictedTokens: 30, predictedSeconds: 2, decodes: 10,
		busySlotsInDecodes: 25, requestsProcessing: 2, requestsDeferred: 1, maxSequencesPerDecode: 3})
	for _, line := range []string{
		"llamacpp:prompt_tokens_total 12\n",
		"llamacpp:tokens_predicted_total 30\n",
		"llamacpp:predicted_tokens_seconds 15\n",
		"llamacpp:n_busy_slots_per_decode 2.5\n",
		"llamacpp:requests_processing 2\n",
		"llamacpp:requests_deferred 1\n",
		"# TYPE llamacpp:n_decode_total counter\n",
		"custos:decode_sequences_max 3\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("metrics lack %q:\n%s", line, b.String())
		}
	}
}
