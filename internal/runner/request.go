package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// decodeJSON reads r's body, up to the configured MaxBodyBytes, as one JSON value into v, answering a
// larger body, malformed JSON, wrong field types and trailing data with a 400 that names the problem.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("invalid JSON: unexpected data after the request object")
	}
	return nil
}

// decodeRequest reads r's body like decodeJSON, then refuses the documented fields the runner does not
// support for ep (see fieldTable).
func (s *Server) decodeRequest(w http.ResponseWriter, r *http.Request, v any, ep endpoint) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return describeJSONError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("invalid JSON: unexpected data after the request object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return describeJSONError(err)
	}
	return checkFields(ep, fields)
}

// describeJSONError turns a decoding error into a client-facing 400.
func describeJSONError(err error) *apiError {
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	var fieldErr *fieldError
	switch {
	case errors.As(err, &typeErr):
		// The path names Go's embedded struct; clients know only the JSON field.
		field := typeErr.Field
		for _, embedded := range []string{"samplingFields.", "templateFields.", "budgetFields.", "continuationFields."} {
			field = strings.TrimPrefix(field, embedded)
		}
		if field == "" {
			return badRequest("invalid request: expected a JSON object, got %s", typeErr.Value)
		}
		return badRequest("invalid type for %q: expected %s, got %s", field, jsonKind(typeErr.Type), typeErr.Value)
	case errors.As(err, &fieldErr):
		return badRequest("%s", fieldErr.Error())
	case errors.As(err, &maxErr):
		return badRequest("request body larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return badRequest("invalid JSON: empty request body")
	}
	return badRequest("invalid JSON: %v", err)
}

// jsonKind names a Go type as the JSON a client should have sent.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// fieldError is a field whose JSON has the right syntax but a shape the server does not accept.
type fieldError struct {
	field, problem string
}

func (e *fieldError) Error() string { return fmt.Sprintf("invalid %q: %s", e.field, e.problem) }

// samplingFields are the generation settings every completion endpoint accepts, with llama-server's and
// OpenAI's names. A nil pointer means "not given": the server's default applies.
type samplingFields struct {
	Temperature         *float64 `json:"temperature"`
	TopK                *int     `json:"top_k"`
	TopP                *float64 `json:"top_p"`
	MinP                *float64 `json:"min_p"`
	Seed                *int64   `json:"seed"`
	RepeatPenalty       *float64 `json:"repeat_penalty"`
	RepeatLastN         *int     `json:"repeat_last_n"`
	PresencePenalty     *float64 `json:"presence_penalty"`
	FrequencyPenalty    *float64 `json:"frequency_penalty"`
	Stop                stopList `json:"stop"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	NPredict            *int     `json:"n_predict"`
	IgnoreEOS           bool     `json:"ignore_eos"`
	Stream              bool     `json:"stream"`
	constraintFields

	// Choices, probabilities, slot use and llama-server's further samplers (see request_options.go).
	N                 *int            `json:"n"`
	NCmpl             *int            `json:"n_cmpl"`
	Logprobs          json.RawMessage `json:"logprobs"` // a boolean on chat, an integer elsewhere
	TopLogprobs       *int            `json:"top_logprobs"`
	NProbs            *int            `json:"n_probs"`
	PostSamplingProbs bool            `json:"post_sampling_probs"`
	StreamOptions     *streamOptions  `json:"stream_options"`
	CachePrompt       *bool           `json:"cache_prompt"`
	IDSlot            *int            `json:"id_slot"`
	ReturnTokens      bool            `json:"return_tokens"`
	TypicalP          *float64        `json:"typical_p"`
	MinKeep           *int            `json:"min_keep"`
	TopNSigma         *float64        `json:"top_n_sigma"`
	XTCProbability    *float64        `json:"xtc_probability"`
	XTCThreshold      *float64        `json:"xtc_threshold"`
	DynatempRange     *float64        `json:"dynatemp_range"`
	DynatempExponent  *float64        `json:"dynatemp_exponent"`
	Mirostat          *int            `json:"mirostat"`
	MirostatTau       *float64        `json:"mirostat_tau"`
	MirostatEta       *float64        `json:"mirostat_eta"`
	LogitBias         json.RawMessage `json:"logit_bias"`
	DRYMultiplier     *float64        `json:"dry_multiplier"`
	DRYBase           *float64        `json:"dry_base"`
	DRYAllowedLength  *int            `json:"dry_allowed_length"`
	DRYPenaltyLastN   *int            `json:"dry_penalty_last_n"`
	DRYBreakers       []string        `json:"dry_sequence_breakers"`
	Samplers          json.RawMessage `json:"samplers"`
	TMaxPredictMS     *int64          `json:"t_max_predict_ms"`
	TimingsPerToken   bool            `json:"timings_per_token"`
	SSEPingInterval   *int            `json:"sse_ping_interval"`
	ResponseFields    []string        `json:"response_fields"`
	ReturnProgress    bool            `json:"return_progress"`
	Echo              bool            `json:"echo"`
	BestOf            *int            `json:"best_of"`
	NIndent           *int            `json:"n_indent"`
	AdaptiveTarget    *float64        `json:"adaptive_target"`
	AdaptiveDecay     *float64        `json:"adaptive_decay"`
	LoRA              json.RawMessage `json:"lora"`
}

// streamOptions is OpenAI's stream_options object.
type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// stopList is the "stop" field: one string or an array of strings.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &fieldError{"stop", "expected a string or an array of strings"}
	}
	*s = many
	return nil
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	samplingFields
	templateFields
	budgetFields
	continuationFields
	Messages []chatMessage `json:"messages"`
}

// chatMessage is one message; content is a string or an array of text parts. An assistant's message may
// carry the tool calls it made, and a tool's message the call it answers.
type chatMessage struct {
	Role    string         `json:"role"`
	Content messageContent `json:"content"`
	// ReasoningContent is an assistant's earlier reasoning, which thinking templates show the model.
	ReasoningContent string            `json:"reasoning_content"`
	ToolCalls        []messageToolCall `json:"tool_calls"`
	ToolCallID       string            `json:"tool_call_id"`
	Name             string            `json:"name"`
}

// messageContent is a message's text, from a string or from OpenAI's array of {"type":"text","text":...}.
type messageContent string

func (c *messageContent) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*c = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = messageContent(s)
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return &fieldError{"content", "expected a string or an array of content parts"}
	}
	var text strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return &fieldError{"content", fmt.Sprintf("content part type %q is not supported (only \"text\")", p.Type)}
		}
		text.WriteString(p.Text)
	}
	*c = messageContent(text.String())
	return nil
}

// completionRequest is the body of POST /v1/completions and of llama-server's native POST /completion.
type completionRequest struct {
	samplingFields
	lazyGrammarFields
	Prompt promptInput `json:"prompt"`
}

// promptInput is a completion prompt: text, or token ids, or a one-element array of either.
type promptInput struct {
	text   string
	tokens []int
	given  bool
}

func (p *promptInput) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*p = promptInput{}
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*p = promptInput{text: s, given: true}
		return nil
	}
	var ids []int
	if json.Unmarshal(b, &ids) == nil {
		*p = promptInput{tokens: ids, given: true}
		return nil
	}
	var many []json.RawMessage
	if json.Unmarshal(b, &many) == nil && len(many) == 1 {
		return p.UnmarshalJSON(many[0])
	}
	if len(many) > 1 {
		return &fieldError{"prompt", "several prompts in one request are not supported; send one request per prompt"}
	}
	return &fieldError{"prompt", "expected a string or an array of token ids"}
}

// embeddingRequest is the body of POST /v1/embeddings; input is one or several texts or token arrays.
type embeddingRequest struct {
	Input embeddingInput `json:"input"`
	// Content is llama-server's name for the inputs; a request that uses it gets llama-server's own answer
	// shape, as it does there.
	Content embeddingInput `json:"content"`
	// EncodingFormat is "float" (the default) or "base64" (little-endian float32 bytes).
	EncodingFormat *string `json:"encoding_format"`
	// Dimensions asks for vectors of that many values; only the model's own width is possible.
	Dimensions *int `json:"dimensions"`
	// EmbdNormalize is llama-server's normalization: -1 none, 0 max absolute, 1 taxicab, 2 Euclidean
	// (default), p > 2 the p-norm.
	EmbdNormalize *int `json:"embd_normalize"`
}

// embeddingInput holds the inputs to embed, each as text or token ids.
type embeddingInput []promptInput

func (in *embeddingInput) UnmarshalJSON(b []byte) error {
	var one promptInput
	if err := one.UnmarshalJSON(b); err == nil {
		*in = embeddingInput{one}
		return nil
	}
	var many []json.RawMessage
	if err := json.Unmarshal(b, &many); err != nil {
		return &fieldError{"input", "expected a string, an array of strings, or token arrays"}
	}
	out := make(embeddingInput, len(many))
	for i, raw := range many {
		if err := out[i].UnmarshalJSON(raw); err != nil {
			return &fieldError{"input", fmt.Sprintf("element %d: expected a string or an array of token ids", i)}
		}
	}
	*in = out
	return nil
}

// tokenizeRequest is the body of POST /tokenize.
type tokenizeRequest struct {
	Content    string `json:"content"`
	AddSpecial bool   `json:"add_special"`
	WithPieces bool   `json:"with_pieces"`
}

// detokenizeRequest is the body of POST /detokenize.
type detokenizeRequest struct {
	Tokens []int `json:"tokens"`
}
