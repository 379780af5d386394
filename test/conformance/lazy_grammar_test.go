package conformance

import "testing"

// lazyGrammarCases send llama-server's own lazy-grammar fields to /completion: a trigger the reply never
// writes leaves it free on both, and both report the lazy grammar, its triggers and the preserved tokens
// alike; the refusals llama-server makes are the runner's too.
var lazyGrammarCases = []testCase{
	{"completion lazy grammar", "POST", "/completion", `{"prompt":"Answer:","n_predict":12,"seed":3,"temperature":1,"grammar":"root ::= \"<q>\" [0-9]+","grammar_lazy":true,"preserved_tokens":["<|im_start|>"],"grammar_triggers":[{"type":1,"value":"<q>"},{"type":1,"value":"<|im_start|>"}]}`,
		withSettings(seeded("content"), "generation_settings.", false), nil},
	{"completion lazy grammar without triggers", "POST", "/completion", `{"prompt":"x","n_predict":4,"seed":1,"grammar":"root ::= \"a\"","grammar_lazy":true}`, seeded("content"), nil},
	{"completion lazy grammar with no triggers", "POST", "/completion", `{"prompt":"x","n_predict":2,"grammar":"root ::= \"a\"","grammar_lazy":true,"grammar_triggers":[]}`, errorShape, nil},
	{"completion trigger word of one token not preserved", "POST", "/completion", `{"prompt":"x","n_predict":2,"grammar":"root ::= \"a\"","grammar_lazy":true,"grammar_triggers":[{"type":1,"value":"<|im_start|>"}]}`, errorShape, nil},
}

// TestConformanceLazyGrammar runs the lazy-grammar cases on the suite's model.
func TestConformanceLazyGrammar(t *testing.T) {
	p := startPair(t, nil, nil)
	for _, c := range lazyGrammarCases {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}
