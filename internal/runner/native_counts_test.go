package runner

import (
	"encoding/json"
	"testing"
)

// TestNativeStreamCarriesRunningCounts: every chunk of a /completion stream says how many tokens its
// choice has generated so far and how long the prompt is, as llama-server's do; the last has the totals.
func TestNativeStreamCarriesRunningCounts(t *testing.T) {
	f := runnerFor(t, false)
	events, _ := f.streamEvents(t, "/completion", map[string]any{"prompt": "count the chunks", "n_predict": 5,
		"temperature": 0, "ignore_eos": true})
	var prompt []int
	f.postOK(t, "/tokenize", map[string]any{"content": "count the chunks", "add_special": true}, &struct {
		Tokens *[]int `json:"tokens"`
	}{&prompt})
	predicted := 0
	for i, raw := range events {
		var ev struct {
			Tokens    []int `json:"tokens"`
			Stop      bool  `json:"stop"`
			Predicted *int  `json:"tokens_predicted"`
			Evaluated *int  `json:"tokens_evaluated"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil || ev.Predicted == nil || ev.Evaluated == nil {
			t.Fatalf("chunk %d without tokens_predicted and tokens_evaluated: %s", i, raw)
		}
		predicted += len(ev.Tokens)
		if !ev.Stop && *ev.Predicted != predicted {
			t.Errorf("chunk %d: tokens_predicted %d after %d tokens", i, *ev.Predicted, predicted)
		}
		if *ev.Evaluated != len(prompt) {
			t.Errorf("chunk %d: tokens_evaluated %d, the prompt has %d tokens", i, *ev.Evaluated, len(prompt))
		}
	}
	if predicted != 5 {
		t.Errorf("the chunks carried %d tokens, want 5", predicted)
	}
}

// TestNativeCompletionEchoesTheRenderedPrompt: "prompt" is the prompt as the model got it, BOS included,
// whether it came as text or as token ids, as llama-server echoes it.
func TestNativeCompletionEchoesTheRenderedPrompt(t *testing.T) {
	f := runnerFor(t, false)
	var ids struct {
		Tokens []int `json:"tokens"`
	}
	f.postOK(t, "/tokenize", map[string]any{"content": "hello world", "add_special": true}, &ids)
	for _, prompt := range []any{"hello world", ids.Tokens} {
		var r struct {
			Prompt string `json:"prompt"`
		}
		f.postOK(t, "/completion", map[string]any{"prompt": prompt, "n_predict": 1}, &r)
		if r.Prompt != "<s>hello world" {
			t.Errorf("prompt %v echoed as %q, want %q", prompt, r.Prompt, "<s>hello world")
		}
	}
}
