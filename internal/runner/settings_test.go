package runner

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

// TestGenerationSettingsReportTheRequestsValues: a /completion answer's generation_settings carry every
// further sampling setting with the value the request gave, and /slots shows the same settings (without
// the lists) for the slot that ran it.
func TestGenerationSettingsReportTheRequestsValues(t *testing.T) {
	f := runnerFor(t, false)
	given := map[string]any{
		"dry_multiplier": 0.5, "dry_base": 2.0, "dry_allowed_length": 3, "dry_penalty_last_n": 32,
		"dry_sequence_breakers": []any{"\n", ";"}, "xtc_probability": 0.25, "xtc_threshold": 0.2,
		"mirostat": 2, "mirostat_tau": 4.0, "mirostat_eta": 0.2, "top_n_sigma": 1.5, "typical_p": 0.9,
		"min_keep": 2, "dynatemp_range": 0.5, "dynatemp_exponent": 1.5, "samplers": []any{"top_k", "temperature"},
		"logit_bias": []any{[]any{5, -2.0}, []any{7, false}}, "n_probs": 3, "stop": []any{"zz"},
		"timings_per_token": true, "top_k": 12,
	}
	body := map[string]any{"prompt": "settings", "n_predict": 2, "seed": 9, "id_slot": 1}
	for k, v := range given {
		body[k] = v
	}
	var r struct {
		Settings map[string]any `json:"generation_settings"`
	}
	f.postOK(t, "/completion", body, &r)
	want := map[string]any{}
	for k, v := range given {
		want[k] = v
	}
	want["logit_bias"] = []any{map[string]any{"bias": -2.0, "token": 5.0}, map[string]any{"bias": nil, "token": 7.0}}
	want["seed"], want["n_predict"], want["max_tokens"], want["stream"] = 9, 2, 2, false
	for k, v := range want {
		if got := r.Settings[k]; !sameJSON(got, v) {
			t.Errorf("generation_settings.%s = %v, want %v", k, got, v)
		}
	}
	slot := f.slots(t)[1]
	var params map[string]any
	if err := json.Unmarshal(slot.Params, &params); err != nil {
		t.Fatalf("slot 1 params %s: %v", slot.Params, err)
	}
	for _, k := range []string{"dry_multiplier", "xtc_probability", "mirostat", "samplers", "seed", "top_k"} {
		if !sameJSON(params[k], want[k]) {
			t.Errorf("/slots params.%s = %v, want %v", k, params[k], want[k])
		}
	}
	for _, k := range []string{"stop", "logit_bias", "dry_sequence_breakers", "grammar"} {
		if _, ok := params[k]; ok {
			t.Errorf("/slots params has %s, which llama-server leaves out of its metrics form", k)
		}
	}
}

// TestPropsReportTheServersDefaultsAndTokens: /props' default settings are a request's that sets nothing
// (the --seed flag, llama-server's sampler defaults), and it names the model's BOS, EOS and weight type and
// what its chat template can render.
func TestPropsReportTheServersDefaultsAndTokens(t *testing.T) {
	f := runnerFor(t, false)
	status, raw := f.get(t, "/props")
	var props struct {
		Defaults struct {
			Params map[string]any `json:"params"`
		} `json:"default_generation_settings"`
		BOS   string          `json:"bos_token"`
		EOS   string          `json:"eos_token"`
		FType string          `json:"model_ftype"`
		Caps  map[string]bool `json:"chat_template_caps"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &props) != nil {
		t.Fatalf("/props: %d %s", status, raw)
	}
	for k, v := range map[string]any{"seed": testSeed, "top_n_sigma": -1, "typical_p": 1, "dry_base": 1.75,
		"dry_penalty_last_n": 64, "xtc_threshold": 0.1, "mirostat_tau": 5, "adaptive_target": -1,
		"samplers": []any{"penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"}} {
		if got := props.Defaults.Params[k]; !sameJSON(got, v) {
			t.Errorf("default_generation_settings.params.%s = %v, want %v", k, got, v)
		}
	}
	if props.BOS != "<s>" || props.EOS != "</s>" || props.FType != "all F32" {
		t.Errorf("bos_token %q, eos_token %q, model_ftype %q; want <s>, </s>, all F32", props.BOS, props.EOS, props.FType)
	}
	if len(props.Caps) != 9 || !props.Caps["supports_system_role"] || !props.Caps["supports_string_content"] {
		t.Errorf("chat_template_caps %v; want llama-server's nine, the test model's template showing a system message", props.Caps)
	}
}

// sameJSON compares two values as JSON numbers, strings and lists compare.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// TestEmbeddingSlotsShowNoSamplingSettings: an embedding samples nothing, so the slot that computed one
// shows no params in /slots.
func TestEmbeddingSlotsShowNoSamplingSettings(t *testing.T) {
	f := runnerFor(t, true)
	var out any
	f.postOK(t, "/embeddings", map[string]any{"input": "no settings here"}, &out)
	for _, s := range f.slots(t) {
		if s.IDTask != 0 && s.Params != nil {
			t.Errorf("slot %d, which embedded, shows params %s", s.ID, s.Params)
		}
	}
}
