package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// endpoint names the request bodies the fields table covers.
type endpoint int

const (
	epChat        endpoint = 1 << iota // POST /v1/chat/completions
	epCompletions                      // POST /v1/completions (OpenAI's legacy completions)
	epNative                           // POST /completion (llama-server's own)
	epEmbeddings                       // POST /v1/embeddings

	// epGenerate is every generation endpoint: llama-server reads its native fields on the OpenAI ones too.
	epGenerate = epChat | epCompletions | epNative
)

// support is what the runner does with a documented field.
type support int

const (
	// works: the field does what its documentation says.
	works support = iota
	// neutralOnly: the field is accepted with a value that asks for nothing different from the default
	// (for instance mirostat 0), and refused with any other.
	neutralOnly
	// refused: the field is refused whatever its value (null, which llama-server reads as absent, aside).
	refused
)

// field is one request field that llama-server's documentation (tools/server/README.md and the request
// schema of its source) or the OpenAI API reference documents for an endpoint.
type field struct {
	name      string
	endpoints endpoint
	support   support
	// neutral tells whether a value asks for nothing the runner does not do; for neutralOnly fields.
	neutral func(json.RawMessage) bool
	// why is said in the refusal, or says why a value is enough to honour the field.
	why string
}

// fieldTable is the single place that decides, per field, whether it works, is accepted only with its
// neutral value, or is refused. A request field that no row names is ignored: OpenAI's SDKs send extras.
// Fields that other parts of custos implement (grammar, json_schema, response_format, tools, tool_choice,
// parallel_tool_calls, functions, function_call, chat_template_kwargs, the grammar and tool-call helpers
// grammar_lazy, grammar_triggers, preserved_tokens and parse_tool_calls, and the bodies of /infill,
// /rerank, /v1/responses, /v1/messages and /apply-template) are decided where they are implemented.
var fieldTable = []field{
	// The request itself.
	{name: "messages", endpoints: epChat, support: works},
	{name: "prompt", endpoints: epCompletions | epNative, support: works},
	{name: "input", endpoints: epEmbeddings, support: works},
	{name: "content", endpoints: epEmbeddings, support: works, why: "llama-server's name for the inputs; its answer has llama-server's shape"},
	{name: "model", endpoints: epGenerate | epEmbeddings, support: works, why: "a runner serves one model"},
	{name: "stream", endpoints: epGenerate, support: works},
	{name: "stream_options", endpoints: epChat | epCompletions, support: works},
	{name: "stream_options.include_usage", endpoints: epChat | epCompletions, support: works},
	{name: "stream_options.include_obfuscation", endpoints: epChat | epCompletions, support: neutralOnly, neutral: isFalse},
	{name: "stream_options", endpoints: epNative, support: works},
	{name: "stream_options.include_usage", endpoints: epNative, support: neutralOnly, neutral: isFalse,
		why: "native answers have no usage: their last object carries the totals"},
	{name: "user", endpoints: epGenerate | epEmbeddings, support: works,
		why: "an end-user id for the provider's abuse monitoring; a local server accepts it and has no use for it"},
	{name: "safety_identifier", endpoints: epChat, support: works, why: "like user, an end-user id for abuse monitoring"},
	{name: "prompt_cache_key", endpoints: epChat, support: works, why: "a caching hint; the runner reuses every cached prefix anyway"},
	{name: "prompt_cache_retention", endpoints: epChat, support: neutralOnly, neutral: isString("in-memory", "in_memory"),
		why: "the runner keeps its prompt cache in memory only"},

	// Length and stopping.
	{name: "max_tokens", endpoints: epGenerate, support: works},
	{name: "max_completion_tokens", endpoints: epGenerate, support: works},
	{name: "n_predict", endpoints: epGenerate, support: works},
	{name: "stop", endpoints: epGenerate, support: works},
	{name: "ignore_eos", endpoints: epGenerate, support: works},
	{name: "t_max_predict_ms", endpoints: epGenerate, support: works},
	{name: "n_indent", endpoints: epGenerate, support: works},

	// Sampling.
	{name: "temperature", endpoints: epGenerate, support: works},
	{name: "top_k", endpoints: epGenerate, support: works},
	{name: "top_p", endpoints: epGenerate, support: works},
	{name: "min_p", endpoints: epGenerate, support: works},
	{name: "seed", endpoints: epGenerate, support: works},
	{name: "repeat_penalty", endpoints: epGenerate, support: works},
	{name: "repeat_last_n", endpoints: epGenerate, support: works},
	{name: "presence_penalty", endpoints: epGenerate, support: works},
	{name: "frequency_penalty", endpoints: epGenerate, support: works},
	{name: "typical_p", endpoints: epGenerate, support: works},
	{name: "min_keep", endpoints: epGenerate, support: works},
	{name: "top_n_sigma", endpoints: epGenerate, support: works},
	{name: "xtc_probability", endpoints: epGenerate, support: works},
	{name: "xtc_threshold", endpoints: epGenerate, support: works},
	{name: "dynatemp_range", endpoints: epGenerate, support: works},
	{name: "dynatemp_exponent", endpoints: epGenerate, support: works},
	{name: "mirostat", endpoints: epGenerate, support: works},
	{name: "mirostat_tau", endpoints: epGenerate, support: works},
	{name: "mirostat_eta", endpoints: epGenerate, support: works},
	{name: "logit_bias", endpoints: epGenerate, support: works},
	{name: "dry_multiplier", endpoints: epGenerate, support: works},
	{name: "dry_base", endpoints: epGenerate, support: works},
	{name: "dry_allowed_length", endpoints: epGenerate, support: works},
	{name: "dry_penalty_last_n", endpoints: epGenerate, support: works},
	{name: "dry_sequence_breakers", endpoints: epGenerate, support: works},
	{name: "adaptive_target", endpoints: epGenerate, support: works, why: "with adaptive_p in samplers, as llama-server"},
	{name: "adaptive_decay", endpoints: epGenerate, support: works},
	{name: "samplers", endpoints: epGenerate, support: works, why: "every stage but infill"},
	{name: "backend_sampling", endpoints: epGenerate, support: neutralOnly, neutral: isFalse},

	// Choices and probabilities.
	{name: "n", endpoints: epGenerate, support: works},
	{name: "n_cmpl", endpoints: epGenerate, support: works},
	{name: "best_of", endpoints: epCompletions, support: works},
	{name: "logprobs", endpoints: epGenerate, support: works},
	{name: "top_logprobs", endpoints: epChat, support: works},
	{name: "n_probs", endpoints: epGenerate, support: works},
	{name: "post_sampling_probs", endpoints: epGenerate, support: works},

	// Slots and the prompt cache.
	{name: "cache_prompt", endpoints: epGenerate, support: works},
	{name: "id_slot", endpoints: epGenerate, support: works},
	{name: "n_keep", endpoints: epGenerate, support: neutralOnly, neutral: isNumber(0, -1),
		why: "the runner never shifts the context, so the whole prompt is always kept"},
	{name: "n_discard", endpoints: epGenerate, support: neutralOnly, neutral: isNumber(0)},
	{name: "n_cache_reuse", endpoints: epGenerate, support: neutralOnly, neutral: isNumber(0)},
	{name: "lora", endpoints: epGenerate, support: works, why: "the adapters of --lora; an unknown id is a 400"},

	// What the answer carries.
	{name: "return_tokens", endpoints: epGenerate, support: works},
	{name: "return_progress", endpoints: epGenerate, support: works, why: "in streams, as llama-server"},
	{name: "timings_per_token", endpoints: epGenerate, support: works},
	{name: "verbose", endpoints: epGenerate, support: neutralOnly, neutral: isFalse},
	{name: "response_fields", endpoints: epNative, support: works},
	{name: "response_fields", endpoints: epChat | epCompletions, support: refused,
		why: "it selects fields of /completion answers only"},
	{name: "sse_ping_interval", endpoints: epGenerate, support: works,
		why: "seconds a stream may stay silent before it gets an SSE comment (`:`), as llama-server; -1 or 0: none"},
	{name: "echo", endpoints: epCompletions, support: works, why: "with the prompt tokens' logprobs when asked for"},
	{name: "echo", endpoints: epChat | epNative, support: neutralOnly, neutral: isFalse},
	{name: "suffix", endpoints: epCompletions, support: neutralOnly, neutral: isString("")},

	// Chat formatting and reasoning.
	{name: "reasoning_format", endpoints: epChat, support: works,
		why: "a thinking template's reasoning goes to reasoning_content unless \"none\""},
	{name: "reasoning_effort", endpoints: epChat, support: works,
		why: "given to the chat template; \"none\" turns a thinking template's reasoning off"},
	{name: "reasoning_budget_tokens", endpoints: epChat, support: works,
		why: "a thinking template's reasoning ends after that many tokens (see \"Reasoning budget\" below)"},
	{name: "thinking_budget_tokens", endpoints: epChat, support: works, why: "reasoning_budget_tokens under another name"},
	{name: "reasoning_budget_message", endpoints: epChat, support: works, why: "written before the end marker a spent budget forces"},
	{name: "reasoning_control", endpoints: epChat, support: works,
		why: "lets POST /v1/chat/completions/control end the reasoning of the running completion"},
	{name: "reasoning_control", endpoints: epCompletions | epNative, support: neutralOnly, neutral: isFalse},
	{name: "reasoning_budget_tokens", endpoints: epCompletions | epNative, support: neutralOnly, neutral: isNumber(-1),
		why: "llama-server bounds a reasoning only between the markers a chat template gives it"},
	{name: "reasoning_budget_start_tag", endpoints: epGenerate, support: refused},
	{name: "reasoning_budget_end_tags", endpoints: epGenerate, support: refused},
	{name: "reasoning_budget_end_tag", endpoints: epGenerate, support: refused},
	{name: "reasoning_budget_message", endpoints: epCompletions | epNative, support: refused},
	{name: "chat_format", endpoints: epGenerate, support: refused},
	{name: "chat_parser", endpoints: epGenerate, support: refused},
	{name: "generation_prompt", endpoints: epGenerate, support: neutralOnly, neutral: isString("")},
	{name: "continue_final_message", endpoints: epChat, support: works,
		why: "true, \"content\" or \"reasoning_content\" (with add_generation_prompt false): what part of the final assistant message the reply continues"},
	{name: "continue_final_message", endpoints: epCompletions | epNative, support: neutralOnly, neutral: isFalse},

	// OpenAI's chat options for its own platform.
	{name: "store", endpoints: epChat, support: neutralOnly, neutral: isFalse, why: "the runner stores nothing"},
	{name: "metadata", endpoints: epChat, support: neutralOnly, neutral: isEmptyObject,
		why: "metadata only labels stored completions"},
	{name: "modalities", endpoints: epChat, support: neutralOnly, neutral: isStrings("text")},
	{name: "audio", endpoints: epChat, support: refused},
	{name: "prediction", endpoints: epChat, support: refused},
	{name: "service_tier", endpoints: epChat, support: neutralOnly, neutral: isString("auto", "default")},
	{name: "verbosity", endpoints: epChat, support: neutralOnly, neutral: isString("medium")},
	{name: "web_search_options", endpoints: epChat, support: refused},

	// Embeddings.
	{name: "encoding_format", endpoints: epEmbeddings, support: works},
	{name: "dimensions", endpoints: epEmbeddings, support: works, why: "only the model's own width"},
	{name: "embd_normalize", endpoints: epEmbeddings, support: works},
}

// fieldsByName indexes fieldTable; a name has several rows when endpoints treat it differently.
var fieldsByName = func() map[string][]*field {
	m := make(map[string][]*field, len(fieldTable))
	for i := range fieldTable {
		f := &fieldTable[i]
		m[f.name] = append(m[f.name], f)
	}
	return m
}()

// checkFields refuses, with a 400 naming it, the first field of body (in name order, so that the answer
// does not vary) that the table does not let through for ep. A null value is absent, as in llama-server.
func checkFields(ep endpoint, body map[string]json.RawMessage) *apiError {
	names := make([]string, 0, len(body))
	for name := range body {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		raw := body[name]
		if isNull(raw) {
			continue
		}
		if err := checkField(ep, name, raw); err != nil {
			return err
		}
		if name == "stream_options" {
			var sub map[string]json.RawMessage
			if json.Unmarshal(raw, &sub) != nil {
				return badRequest("invalid \"stream_options\": expected an object")
			}
			prefixed := make(map[string]json.RawMessage, len(sub))
			for k, v := range sub {
				prefixed["stream_options."+k] = v
			}
			if err := checkFields(ep, prefixed); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkField(ep endpoint, name string, raw json.RawMessage) *apiError {
	var f *field
	for _, row := range fieldsByName[name] {
		if row.endpoints&ep != 0 {
			f = row
		}
	}
	if f == nil {
		return nil
	}
	switch {
	case f.support == refused:
	case f.support == neutralOnly && !f.neutral(raw):
	default:
		return nil
	}
	msg := fmt.Sprintf("%q is not supported", name)
	if f.support == neutralOnly {
		msg += fmt.Sprintf(" with the value %s; only its default is accepted", compact(raw))
	}
	if f.why != "" && f.support == refused {
		msg += ": " + f.why
	}
	return &apiError{Status: 400, Type: typeInvalidRequest, Message: msg}
}

// compact shortens a raw value for an error message.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return "given"
	}
	s := b.String()
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func isFalse(raw json.RawMessage) bool {
	var b bool
	return json.Unmarshal(raw, &b) == nil && !b
}

func isNumber(values ...float64) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var x float64
		return json.Unmarshal(raw, &x) == nil && slices.Contains(values, x)
	}
}

func isString(values ...string) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var s string
		return json.Unmarshal(raw, &s) == nil && slices.Contains(values, strings.ToLower(s))
	}
}

// isStrings accepts an array holding exactly the given strings.
func isStrings(values ...string) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var got []string
		return json.Unmarshal(raw, &got) == nil && slices.Equal(got, values)
	}
}
