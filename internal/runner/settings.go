package runner

import (
	"encoding/json"
	"math"

	"custos/internal/llama"
)

// generationSettings is llama-server's account of a request's settings (generation_settings, and the
// params of /props and /slots): every sampling setting with the value the request runs with. The metrics
// form, which /props and /slots show, leaves out the lists: stop strings, DRY sequence breakers, logit
// biases and the grammar, as llama-server does.
//
// The settings the runner accepts at their neutral value only (n_keep, n_discard, backend_sampling,
// reasoning) report that value; chat_format and reasoning_format report "Content-only" and "none" for
// every request (docs/COMPATIBILITY.md lists the difference).
func generationSettings(p genParams, metrics bool) map[string]any {
	s := p.sampler
	order := s.Order
	if order == nil {
		order = llama.DefaultOrder()
	}
	samplers := make([]string, len(order))
	for i, stage := range order {
		samplers[i] = stageNames[stage]
	}
	out := map[string]any{
		"seed": s.Seed, "temperature": s.Temperature, "dynatemp_range": s.DynatempRange,
		"dynatemp_exponent": s.DynatempExponent, "top_k": s.TopK, "top_p": s.TopP, "min_p": s.MinP,
		"top_n_sigma": s.TopNSigma, "xtc_probability": s.XTCProbability, "xtc_threshold": s.XTCThreshold,
		"typical_p": s.TypicalP, "repeat_last_n": s.PenaltyLastN, "repeat_penalty": s.RepeatPenalty,
		"presence_penalty": s.PresencePenalty, "frequency_penalty": s.FrequencyPenalty,
		"dry_multiplier": s.DRYMultiplier, "dry_base": s.DRYBase, "dry_allowed_length": s.DRYAllowedLength,
		"dry_penalty_last_n": s.DRYPenaltyLastN, "mirostat": s.Mirostat, "mirostat_tau": s.MirostatTau,
		"mirostat_eta": s.MirostatEta, "adaptive_target": s.AdaptiveTarget, "adaptive_decay": s.AdaptiveDecay,
		"max_tokens": p.nPredict, "n_predict": p.nPredict, "n_keep": 0, "n_discard": 0,
		"ignore_eos": p.ignoreEOS, "stream": p.stream, "n_probs": p.probs.n, "min_keep": s.MinKeep,
		"chat_format": "Content-only", "reasoning_format": "none", "reasoning_in_content": false,
		"generation_prompt": "", "samplers": samplers, "speculative.types": "none",
		"timings_per_token": p.timingsPerToken, "post_sampling_probs": p.probs.post, "backend_sampling": false,
		"lora": append([]loraScale{}, p.lora...),
	}
	if metrics {
		return out
	}
	out["stop"] = append([]string{}, p.stops...)
	out["dry_sequence_breakers"] = append([]string{}, s.DRYSequenceBreakers...)
	out["logit_bias"] = logitBiasJSON(s.LogitBias)
	out["grammar"] = p.grammar
	out["grammar_lazy"] = p.grammarLazy
	out["grammar_triggers"] = append([]grammarTrigger{}, p.triggers...)
	out["preserved_tokens"] = preservedIDs(p.preserved)
	return out
}

// logitBiasJSON lists the biases as llama-server does, [{"bias", "token"}]; a banned token's bias, minus
// infinity, has no JSON number and is null, as in llama-server.
func logitBiasJSON(biases []llama.LogitBias) []map[string]any {
	out := make([]map[string]any, len(biases))
	for i, b := range biases {
		var bias any = b.Bias
		if math.IsInf(float64(b.Bias), 0) || math.IsNaN(float64(b.Bias)) {
			bias = nil
		}
		out[i] = map[string]any{"bias": bias, "token": b.Token}
	}
	return out
}

// slotSettings is the metrics form of a task's settings, encoded once for every /slots snapshot that
// shows the task.
func slotSettings(p genParams) json.RawMessage {
	raw, err := json.Marshal(generationSettings(p, true))
	if err != nil {
		return nil
	}
	return raw
}
