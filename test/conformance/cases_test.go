package conformance

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// testCase is one request sent to both servers, how to compare the answers, and the differences allowed.
type testCase struct {
	name         string
	method, path string
	body         string
	compare      comparison
	allow        []difference
}

// comparison says what must be equal beyond the status, the media type and the JSON shape.
type comparison struct {
	// text is the path of generated text that must be the same, not empty, and tokenize to the same ids on
	// both servers: for cases whose sampling is seeded. Empty for none.
	text string
	// same are paths whose values must be equal.
	same []string
	// near are paths of numbers that must agree to within nearness (floating point sums in another order).
	near []string
	// prefill is the start of a continued message that llama-server repeats at the start of the text and
	// the runner leaves out: where llama-server's text is prefill and the runner's, it is a finding of its
	// own kind (repeatsPrefill), which a case allows by name.
	prefill string
}

// nearness is how far apart two numbers at a near path may be. Several inputs embedded in one decode
// come out a few ulps apart depending on how the batch was put together, which timing decides, so the
// bound is looser than one input's agreement (about 1e-6).
const nearness = 1e-4

// shape compares the status, the media type and the JSON shape only.
func shape() comparison { return comparison{} }

// values compares the shape and the values at paths.
func values(paths ...string) comparison { return comparison{same: paths} }

// seeded compares the shape, the text at textPath (and its token ids), and the values at paths.
func seeded(textPath string, paths ...string) comparison {
	return comparison{text: textPath, same: append([]string{textPath}, paths...)}
}

// continuing compares as c does a reply that continues the message prefill, which llama-server repeats.
func continuing(c comparison, prefill string) comparison {
	c.prefill = prefill
	return c
}

// vectors compares the shape, the values at paths, and the numbers at nearPath to within nearness.
func vectors(nearPath string, paths ...string) comparison {
	return comparison{same: paths, near: []string{nearPath}}
}

// withSettings also compares the generation settings under prefix: the integer, boolean and list settings
// by value, the floating-point ones near (llama-server widens its float32 values to doubles,
// 0.800000011920929 for 0.8). The metrics form (/props) has no lists.
func withSettings(c comparison, prefix string, metrics bool) comparison {
	for _, key := range []string{"seed", "top_k", "repeat_last_n", "dry_allowed_length", "dry_penalty_last_n",
		"mirostat", "max_tokens", "n_predict", "n_keep", "n_discard", "ignore_eos", "stream", "n_probs", "min_keep",
		"samplers", "timings_per_token", "post_sampling_probs", "backend_sampling", "lora", "generation_prompt"} {
		c.same = append(c.same, prefix+key)
	}
	if !metrics {
		for _, key := range []string{"stop", "dry_sequence_breakers", "logit_bias", "grammar", "grammar_lazy",
			"grammar_triggers", "preserved_tokens"} {
			c.same = append(c.same, prefix+key)
		}
	}
	for _, key := range []string{"temperature", "dynatemp_range", "dynatemp_exponent", "top_p", "min_p",
		"top_n_sigma", "xtc_probability", "xtc_threshold", "typical_p", "repeat_penalty", "presence_penalty",
		"frequency_penalty", "dry_multiplier", "dry_base", "mirostat_tau", "mirostat_eta", "adaptive_target",
		"adaptive_decay"} {
		c.near = append(c.near, prefix+key)
	}
	return c
}

func allow(ds ...difference) []difference { return ds }

// Seeded generation: a fixed seed, the end of sequence ignored so that both produce the same number of
// tokens, and few of them.
const (
	seededChat       = `{"messages":[{"role":"user","content":"hello there"}],"max_tokens":16,"seed":5,"ignore_eos":true`
	seededCompletion = `{"prompt":"the answer is","n_predict":16,"seed":5,"ignore_eos":true`
	seededOpenAI     = `{"prompt":"the answer is","max_tokens":16,"seed":5,"ignore_eos":true`
	greedyChat       = `{"messages":[{"role":"user","content":"count with me"}],"max_tokens":16,"temperature":0,"ignore_eos":true`
)

// errorShape compares an error answer's type and code.
var errorShape = values("error.type", "error.code")

var cases = []testCase{
	{"health", "GET", "/health", "", values("status"), nil},
	{"models", "GET", "/v1/models", "", values("object", "data[].id", "data[].object", "data[].owned_by", "data[].meta.n_vocab", "data[].meta.n_embd", "data[].meta.n_params", "data[].meta.n_ctx_train", "data[].meta.vocab_type", "data[].meta.n_ctx", "data[].meta.ftype"), allow(ollamaModels)},
	{"props", "GET", "/props", "", withSettings(values("total_slots", "model_alias", "chat_template", "default_generation_settings.n_ctx", "endpoint_slots", "is_sleeping", "bos_token", "eos_token", "model_ftype", "chat_template_caps"), "default_generation_settings.params.", true), allow(webUI, runnerProps)},
	{"post props without --props", "POST", "/props", `{}`, errorShape, nil},
	{"slots", "GET", "/slots", "", values("[].id", "[].n_ctx", "[].is_processing", "[].speculative"), allow(idleSlotCounters)},
	{"tokenize", "POST", "/tokenize", `{"content":"hello world"}`, values("tokens"), nil},
	{"tokenize with special", "POST", "/tokenize", `{"content":"hello world","add_special":true}`, values("tokens"), nil},
	{"tokenize with pieces", "POST", "/tokenize", `{"content":"hello wörld","with_pieces":true}`, values("tokens"), nil},
	{"detokenize", "POST", "/detokenize", `{"tokens":[356,359,10,20]}`, values("content"), nil},
	{"completion", "POST", "/completion", seededCompletion + `}`, withSettings(seeded("content", "tokens_predicted", "tokens_evaluated", "stop_type", "prompt"), "generation_settings.", false), nil},
	{"completion return_tokens", "POST", "/completion", seededCompletion + `,"return_tokens":true}`, seeded("content", "tokens"), nil},
	{"completion stream", "POST", "/completion", seededCompletion + `,"stream":true}`, seeded("text", "done", "first.tokens_predicted", "first.tokens_evaluated", "next.tokens_predicted", "next.tokens_evaluated", "last.tokens_predicted", "last.stop_type"), nil},
	// A prompt of 1,000 tokens in a slot of 1,024: generation stops when the next token would not fit, as
	// llama-server stops it, however many n_predict allows.
	{"completion up to the end of the slot's context", "POST", "/completion", `{"prompt":[` + strings.Repeat("300,", 999) + `300],"n_predict":100,"seed":5,"ignore_eos":true}`,
		seeded("content", "tokens_predicted", "tokens_evaluated", "stop_type", "truncated"), nil},
	{"completion greedy", "POST", "/completion", `{"prompt":"one two","n_predict":16,"temperature":0,"ignore_eos":true}`, seeded("content"), nil},
	{"v1 completions", "POST", "/v1/completions", seededOpenAI + `}`, seeded("choices[].text", "object", "choices[].finish_reason", "usage.completion_tokens", "usage.prompt_tokens"), allow(fingerprint)},
	{"v1 completions stream", "POST", "/v1/completions", seededOpenAI + `,"stream":true}`, seeded("text", "done", "last.choices[].finish_reason"), allow(fingerprint, usageWhenAsked)},
	{"chat", "POST", "/v1/chat/completions", seededChat + `}`, seeded("choices[].message.content", "object", "choices[].message.role", "choices[].finish_reason", "usage.completion_tokens", "usage.prompt_tokens"), allow(fingerprint, logprobsNull)},
	{"chat greedy", "POST", "/v1/chat/completions", greedyChat + `}`, seeded("choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"chat stream", "POST", "/v1/chat/completions", seededChat + `,"stream":true}`, seeded("text", "done", "last.choices[].finish_reason", "last.object"), allow(fingerprint, logprobsNull)},
	{"chat stream sse_ping_interval", "POST", "/v1/chat/completions", seededChat + `,"stream":true,"sse_ping_interval":5}`, seeded("text", "done"), allow(fingerprint, logprobsNull)},
	{"sse_ping_interval below -1", "POST", "/v1/chat/completions", seededChat + `,"stream":true,"sse_ping_interval":-2}`, errorShape, nil},
	{"chat continuing a reply", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Well, "}],"max_tokens":8,"seed":5,"ignore_eos":true}`, seeded("choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"chat continuing a reply streamed", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Well, "}],"max_tokens":8,"seed":5,"ignore_eos":true,"stream":true}`, seeded("text"), allow(fingerprint, logprobsNull)},
	{"chat n=2", "POST", "/v1/chat/completions", seededChat + `,"n":2}`, seeded("choices[].message.content", "choices[].index"), allow(fingerprint, logprobsNull)},
	{"chat logprobs", "POST", "/v1/chat/completions", greedyChat + `,"logprobs":true,"top_logprobs":2}`, seeded("choices[].message.content", "choices[].logprobs.content[].token"), allow(fingerprint, refusalNull)},
	{"chat stream include_usage", "POST", "/v1/chat/completions", seededChat + `,"stream":true,"stream_options":{"include_usage":true}}`, seeded("text", "last.usage.completion_tokens"), allow(fingerprint, logprobsNull, usageNullChunks)},
	{"completion n_probs", "POST", "/completion", `{"prompt":"the odds are","n_predict":16,"seed":5,"ignore_eos":true,"n_probs":2}`, seeded("content", "completion_probabilities[].id"), nil},
	{"completion grammar", "POST", "/completion", `{"prompt":"answer:","n_predict":8,"seed":5,"grammar":"root ::= \"yes\" | \"no\""}`, seeded("content"), nil},
	{"completion json_schema", "POST", "/completion", `{"prompt":"data:","n_predict":64,"seed":3,"json_schema":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}}`, seeded("content"), nil},
	{"completion of token ids", "POST", "/completion", `{"prompt":[1,356,359],"n_predict":8,"seed":5,"ignore_eos":true}`, seeded("content", "prompt", "tokens_evaluated"), nil},
	// Not the texts: a choice's logits vary in their last bits with what else the KV cache holds, on both servers,
	// and the second choice's text can then part after a few tokens.
	{"completion n_cmpl=2", "POST", "/completion", seededCompletion + `,"n_cmpl":2,"cache_prompt":false}`, values("[].index", "[].tokens_predicted", "[].timings.predicted_n", "[].timings.prompt_n"), nil},
	{"ignore_eos with a grammar", "POST", "/completion", `{"prompt":"answer:","n_predict":8,"seed":5,"ignore_eos":true,"grammar":"root ::= \"yes\" | \"no\""}`, shape(), allow(grammarEndsTheChoice)},
	{"completion settings reported", "POST", "/completion", `{"prompt":"the odds are","n_predict":4,"seed":9,"dry_multiplier":0.5,"dry_base":2,"dry_allowed_length":3,"dry_penalty_last_n":32,"dry_sequence_breakers":["\n",";"],"xtc_probability":0.25,"xtc_threshold":0.2,"top_n_sigma":1.5,"typical_p":0.9,"min_keep":2,"dynatemp_range":0.5,"dynatemp_exponent":1.5,"samplers":["top_k","typ_p","temperature"],"logit_bias":[[5,-2],[7,false]],"n_probs":3,"stop":["zz"],"timings_per_token":true,"top_k":12,"repeat_last_n":16,"presence_penalty":0.5}`, withSettings(values(), "generation_settings.", false), nil},
	{"completion mirostat settings reported", "POST", "/completion", `{"prompt":"the odds are","n_predict":4,"seed":9,"mirostat":2,"mirostat_tau":4,"mirostat_eta":0.2}`, withSettings(values(), "generation_settings.", false), nil},
	{"completion bad grammar", "POST", "/completion", `{"prompt":"x","n_predict":4,"grammar":"root ::= ("}`, errorShape, nil},
	{"apply-template", "POST", "/apply-template", `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]}`, values("prompt"), nil},
	{"chat input_tokens", "POST", "/v1/chat/completions/input_tokens", `{"messages":[{"role":"user","content":"hello there"}]}`, values("object", "input_tokens"), nil},
	{"messages", "POST", "/v1/messages", `{"model":"tiny","max_tokens":16,"messages":[{"role":"user","content":"hello there"}],"temperature":0}`, seeded("content[].text", "type", "role", "stop_reason", "usage.output_tokens"), nil},
	{"messages continuing a reply", "POST", "/v1/messages", `{"model":"tiny","max_tokens":8,"temperature":0,"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Well, "}]}`, continuing(seeded("content[].text", "content[].type"), "Well, "), allow(prefillNotRepeated)},
	{"messages continuing a reply streamed", "POST", "/v1/messages", `{"model":"tiny","max_tokens":8,"temperature":0,"stream":true,"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Well, "}]}`, continuing(seeded("text"), "Well, "), allow(prefillNotRepeated, anthropicPing)},
	{"responses continuing a reply", "POST", "/v1/responses", `{"model":"tiny","max_output_tokens":8,"temperature":0,"input":[{"role":"user","content":"hello there"},{"type":"message","role":"assistant","content":"Well, "}]}`, continuing(seeded("output[].content[].text", "output[].type"), "Well, "), allow(prefillNotRepeated, responsesObject, responsesIncomplete)},
	{"messages count_tokens", "POST", "/v1/messages/count_tokens", `{"model":"tiny","messages":[{"role":"user","content":"hello there"}]}`, values("input_tokens"), nil},
	{"responses", "POST", "/v1/responses", `{"model":"tiny","input":"hello there","max_output_tokens":16,"temperature":0}`, seeded("output[].content[].text", "object", "output[].type", "output[].role", "usage.output_tokens"), allow(responsesObject, responsesIncomplete)},
	{"responses grammar", "POST", "/v1/responses", `{"model":"tiny","input":"answer:","max_output_tokens":8,"seed":5,"grammar":"root ::= \"yes\" | \"no\""}`, seeded("output[].content[].text", "status"), allow(responsesObject)},
	{"responses null content", "POST", "/v1/responses/input_tokens", `{"model":"tiny","input":[{"role":"user","content":null}]}`, errorShape, nil},
	{"responses null text", "POST", "/v1/responses/input_tokens", `{"model":"tiny","input":[{"role":"user","content":[{"type":"input_text","text":null}]}]}`, errorShape, allow(badTypeIs400)},
	{"messages null content", "POST", "/v1/messages/count_tokens", `{"model":"tiny","messages":[{"role":"user","content":null}]}`, shape(), allow(nullContentRefused)},
	{"messages empty content", "POST", "/v1/messages/count_tokens", `{"model":"tiny","messages":[{"role":"user","content":[]},{"role":"user","content":"hi"}]}`, shape(), allow(emptyContentRefused)},
	{"messages empty final assistant", "POST", "/v1/messages/count_tokens", `{"model":"tiny","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[]}]}`, values("input_tokens"), nil},
	{"infill without FIM tokens", "POST", "/infill", `{"input_prefix":"def f(","input_suffix":"):","n_predict":4}`, errorShape, nil},
	{"rerank without --reranking", "POST", "/rerank", `{"query":"a","documents":["b"]}`, errorShape, nil},
	{"slot save without --slot-save-path", "POST", "/slots/0?action=save", `{"filename":"x.bin"}`, errorShape, nil},
	{"lora adapters", "GET", "/lora-adapters", "", shape(), nil},
	{"a documented field the runner does not honour", "POST", "/completion", seededCompletion + `,"n_keep":4}`, shape(), allow(refusedByName)},
	{"embeddings without --embeddings", "POST", "/v1/embeddings", `{"input":"hello"}`, errorShape, nil},
	{"malformed JSON", "POST", "/v1/chat/completions", `{"messages":`, errorShape, allow(malformedJSON)},
	{"missing messages", "POST", "/v1/chat/completions", `{}`, errorShape, nil},
	{"messages not an array", "POST", "/v1/chat/completions", `{"messages":"hi"}`, errorShape, nil},
	{"empty messages", "POST", "/v1/chat/completions", `{"messages":[],"max_tokens":4}`, shape(), allow(emptyMessages)},
	{"max_tokens not a number", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":"x"}`, errorShape, nil},
	{"temperature not a number", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}`, errorShape, nil},
	{"missing prompt", "POST", "/completion", `{}`, errorShape, nil},
	{"prompt of a bad type", "POST", "/completion", `{"prompt":5}`, errorShape, nil},
	{"detokenize bad type", "POST", "/detokenize", `{"tokens":"x"}`, errorShape, allow(badTypeIs400)},
	{"context exceeded", "POST", "/completion", `{"prompt":"` + strings.Repeat("hello ", 1100) + `","n_predict":4}`, values("error.type", "error.code", "error.n_prompt_tokens", "error.n_ctx"), nil},
	{"chat context exceeded", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"` + strings.Repeat("hello ", 1100) + `"}],"max_tokens":4}`, values("error.type", "error.code", "error.n_prompt_tokens", "error.n_ctx"), nil},
	{"unknown endpoint", "GET", "/no/such/endpoint", "", errorShape, nil},
	{"wrong method", "GET", "/v1/chat/completions", "", errorShape, nil},
}

// embeddingCases run against a pair started with --embeddings. llama-server is also given --pooling mean, the
// runner's default: it would take the generated model's (none), which its OpenAI route refuses.
var embeddingCases = []testCase{
	{"embeddings", "POST", "/v1/embeddings", `{"input":"hello world"}`, vectors("data[].embedding[]", "object", "data[].object", "data[].index", "usage.prompt_tokens", "usage.total_tokens"), nil},
	// Not the vectors: llama-server pools the second input of a batch wrongly (llama.cpp v0.5.0), the runner
	// embeds each input alone, so they agree only when llama-server happened not to batch them.
	{"embeddings of several inputs", "POST", "/v1/embeddings", `{"input":["hello","wide world"]}`, values("data[].index", "usage.prompt_tokens"), nil},
	{"embeddings of token ids", "POST", "/v1/embeddings", `{"input":[356,359]}`, vectors("data[].embedding[]", "data[].index", "usage.prompt_tokens"), nil},
	{"embeddings without input", "POST", "/v1/embeddings", `{}`, errorShape, nil},
	{"embeddings base64", "POST", "/v1/embeddings", `{"input":"hello world","encoding_format":"base64"}`, values("object", "data[].object", "usage.prompt_tokens"), nil}, // the vectors agree to within nearness, not bit for bit
	{"native embedding", "POST", "/embedding", `{"content":"hello world"}`, vectors("[].embedding[][]", "[].index"), nil},
	{"native embeddings", "POST", "/embeddings", `{"input":"hello world"}`, vectors("[].embedding[][]", "[].index"), nil},
	{"content on the OpenAI route", "POST", "/v1/embeddings", `{"content":"hello world"}`, vectors("[].embedding[][]", "[].index"), nil},
	{"completion in embeddings mode", "POST", "/completion", `{"prompt":"hello","n_predict":2}`, shape(), allow(embeddingsOnly)},
}

// poolingNoneCases run against a pair started with --embeddings --pooling none: one vector per token.
var poolingNoneCases = []testCase{
	{"native embeddings per token", "POST", "/embeddings", `{"input":"hello world"}`, vectors("[].embedding[][]", "[].index"), nil},
	// Not the vectors: how the inputs share a decode moves their values by about 1e-4 on either server.
	{"native embeddings of several inputs per token", "POST", "/embeddings", `{"input":["hello","wide world"],"embd_normalize":2}`, values("[].index"), nil},
	{"OpenAI embeddings under pooling none", "POST", "/v1/embeddings", `{"input":"hello world"}`, values("error.type", "error.code", "error.message"), nil},
	{"OpenAI embeddings of content under pooling none", "POST", "/v1/embeddings", `{"content":"hello world"}`, values("error.type", "error.code", "error.message"), nil},
}

// TestConformancePoolingNone runs the pooling-none cases against a runner and a llama-server started with
// --embeddings --pooling none.
func TestConformancePoolingNone(t *testing.T) {
	p := startPair(t, []string{"--embeddings", "--pooling", "none"}, nil)
	for _, c := range poolingNoneCases {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}

// TestConformanceEmbeddings runs the embedding cases against a runner and a llama-server started with
// --embeddings.
func TestConformanceEmbeddings(t *testing.T) {
	p := startPair(t, []string{"--embeddings"}, []string{"--pooling", "mean"})
	for _, c := range embeddingCases {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}

// TestConformance runs every case against a runner and a llama-server serving the same model.
func TestConformance(t *testing.T) {
	p := startPair(t, nil, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}

// check sends c to both servers and fails on every difference the case does not allow, on every allowed
// difference that did not occur, and, for seeded cases, on empty text or text that tokenizes differently.
func check(t *testing.T, p pair, c testCase) {
	r, l := ask(t, p.runner, c), ask(t, p.llama, c)
	used := make([]bool, len(c.allow))
	for _, f := range compareAnswers(c, r, l) {
		if i := allowedBy(c.allow, f); i >= 0 {
			used[i] = true
			t.Logf("allowed: %s (%s): %s — %s", f.path, f.kind, f.detail, c.allow[i].reason)
			continue
		}
		t.Errorf("%s (%s): %s", f.path, f.kind, f.detail)
	}
	for i, d := range c.allow {
		if !used[i] {
			t.Errorf("the allowed difference %q did not occur: take it off this case", d.reason)
		}
	}
	if t.Failed() {
		t.Logf("runner answered %d: %s", r.status, brief(r.raw))
		t.Logf("llama-server answered %d: %s", l.status, brief(l.raw))
	}
	if c.compare.text != "" {
		checkTokens(t, p, c, r, l)
	}
}

// allowedBy is the index of the first difference that allows f, or -1.
func allowedBy(ds []difference, f finding) int {
	for i, d := range ds {
		for _, a := range d.allows {
			if a.matches(f) {
				return i
			}
		}
	}
	return -1
}

// checkTokens requires a seeded case's generated text to be there and to tokenize to the same ids on both
// servers: equal text could otherwise hide different tokens (the same bytes split differently).
func checkTokens(t *testing.T, p pair, c testCase, r, l answer) {
	rt, lt := valuesAt(r.view, c.compare.text), valuesAt(l.view, c.compare.text)
	if len(rt) == 0 || len(lt) == 0 || rt[0] == "" {
		t.Fatalf("no generated text at %s: runner %s, llama-server %s", c.compare.text, brief(rt), brief(lt))
	}
	body, _ := json.Marshal(map[string]any{"content": rt[0]})
	tokenize := testCase{method: "POST", path: "/tokenize", body: string(body)}
	rIDs, lIDs := ask(t, p.runner, tokenize).view, ask(t, p.llama, tokenize).view
	if !reflect.DeepEqual(rIDs, lIDs) {
		t.Errorf("the generated text tokenizes differently: runner %s, llama-server %s", brief(rIDs), brief(lIDs))
	}
	if ids := valuesAt(rIDs, "tokens[]"); len(ids) == 0 {
		t.Errorf("the generated text %q tokenized to no ids: %s", rt[0], brief(rIDs))
	} else {
		t.Logf("same text, %d tokens: %s", len(ids), fmt.Sprint(rt[0]))
	}
}
