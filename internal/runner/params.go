package runner

import (
	"math"
	"time"

	"custos/internal/llama"
)

// Sampling defaults, llama-server's own, so that a client sees the same behaviour from either engine.
const (
	defaultTemperature   = 0.8
	defaultTopK          = 40
	defaultTopP          = 0.95
	defaultMinP          = 0.05
	defaultRepeatPenalty = 1.0
	defaultRepeatLastN   = 64
	// maxStopStrings and maxStopBytes bound the work of stop matching, which the scheduler does for every
	// token of every slot: a hostile request must not slow the other slots down.
	maxStopStrings = 16
	maxStopBytes   = 256
)

// genParams is a validated generation request as the scheduler runs it.
type genParams struct {
	sampler llama.SamplerParams
	// nPredict is the most tokens to generate; negative means until end of generation or a full context.
	nPredict  int
	stops     []string
	ignoreEOS bool
	// stream is whether the answer is streamed, and grammar the GBNF constraining it ("" for none), as
	// generation_settings reports them.
	stream  bool
	grammar string
	// preserved are control tokens the reply writes out, as llama-server writes its preserved tokens: the
	// markers of tool calls, so that the calls can be read back, or a completion's preserved_tokens.
	preserved map[llama.Token]bool
	// grammarLazy and triggers are a completion's grammar_lazy and grammar_triggers, as generation_settings
	// reports them (a word that is one token as a token trigger).
	grammarLazy bool
	triggers    []grammarTrigger

	// Choices, probabilities and slot use (see request_options.go).

	// n is how many choices to generate from one evaluation of the prompt; 0 means 1.
	n int
	// probs says which token probabilities to report.
	probs probsRequest
	// noCachePrompt (cache_prompt: false) evaluates the whole prompt instead of reusing a cached prefix.
	noCachePrompt bool
	// pinSlot (id_slot >= 0) runs the prompt on slot slotID, waiting for it if busy.
	pinSlot bool
	slotID  int
	// returnTokens (return_tokens) adds the generated token ids to native completions.
	returnTokens bool
	// includeUsage (stream_options.include_usage) ends an OpenAI stream with a usage chunk.
	includeUsage bool
	// maxPredictTime (t_max_predict_ms) ends generation at the first new line generated after that long
	// since the first token; 0 means no limit.
	maxPredictTime time.Duration
	// timingsPerToken (timings_per_token) adds the timings so far to every streamed chunk.
	timingsPerToken bool
	// responseFields (response_fields) keeps only these fields of native answers, by "a/b" paths.
	responseFields []string
	// returnProgress (return_progress, streams only) sends the prompt's progress as it is evaluated.
	returnProgress bool
	// echo (/v1/completions) puts the prompt before each choice's text; with probabilities, scorePrompt
	// also reports the prompt tokens' own, which needs the logits of every prompt position.
	echo        bool
	scorePrompt bool
	// keepBest (best_of > n on /v1/completions) returns only the keepBest choices of n with the highest
	// mean log-probability per token; hideProbs when the probabilities were computed for that ranking only.
	keepBest  int
	hideProbs bool
	// grammarField is the request field the grammar came from, and reasoningFirst says that a thinking
	// model's reasoning comes before it (reasonFirst).
	grammarField   string
	reasoningFirst bool
	// completionID is the chat completion's id, by which the control route finds it.
	completionID string
	// budget bounds a thinking model's reasoning (reasoning_budget_tokens, reasoning_control); nil for none.
	budget *budgetSpec
	// pingInterval (sse_ping_interval, or --sse-ping-interval) is how long a stream may stay silent before
	// it pings the client; 0 means never.
	pingInterval time.Duration
	// nIndent (n_indent) ends generation at the first line after the first indented less (see indentGate).
	nIndent int
	// lora (lora) are the request's own LoRA scales, by adapter id; empty runs with the global ones.
	lora []loraScale
}

// choices is the number of choices the task generates.
func (p genParams) choices() int { return max(p.n, 1) }

// resolveParams fills the request's sampling fields with the server defaults (the --seed and -n flags) and
// checks their ranges.
func resolveParams(f samplingFields, serverSeed int64, serverNPredict int) (genParams, *apiError) {
	p := genParams{nPredict: serverNPredict, ignoreEOS: f.IgnoreEOS, stream: f.Stream}
	s := llama.SamplerParams{
		Temperature:   defaultTemperature,
		TopK:          defaultTopK,
		TopP:          defaultTopP,
		MinP:          defaultMinP,
		RepeatPenalty: defaultRepeatPenalty,
		PenaltyLastN:  defaultRepeatLastN,
	}
	if f.Temperature != nil {
		s.Temperature = float32(*f.Temperature)
	}
	if f.TopK != nil {
		s.TopK = *f.TopK
	}
	if f.TopP != nil {
		if *f.TopP < 0 || *f.TopP > 1 {
			return p, badRequest("\"top_p\" must be between 0 and 1, got %g", *f.TopP)
		}
		s.TopP = float32(*f.TopP)
	}
	if f.MinP != nil {
		if *f.MinP < 0 || *f.MinP > 1 {
			return p, badRequest("\"min_p\" must be between 0 and 1, got %g", *f.MinP)
		}
		s.MinP = float32(*f.MinP)
	}
	if f.RepeatPenalty != nil {
		if *f.RepeatPenalty < 0 {
			return p, badRequest("\"repeat_penalty\" must not be negative, got %g", *f.RepeatPenalty)
		}
		s.RepeatPenalty = float32(*f.RepeatPenalty)
	}
	if f.RepeatLastN != nil {
		switch n := *f.RepeatLastN; {
		case n == -1:
			s.PenaltyLastN = math.MaxInt32 // the whole context, once withinContext knows it
		case n < 0:
			return p, badRequest("\"repeat_last_n\" must be -1 (the whole context) or more, got %d", n)
		default:
			s.PenaltyLastN = n
		}
	}
	if f.PresencePenalty != nil {
		s.PresencePenalty = float32(*f.PresencePenalty)
	}
	if f.FrequencyPenalty != nil {
		s.FrequencyPenalty = float32(*f.FrequencyPenalty)
	}
	seed, err := resolveSeed(f.Seed, serverSeed)
	if err != nil {
		return p, err
	}
	s.Seed = seed
	p.sampler = s

	for _, limit := range []struct {
		name  string
		value *int
	}{{"n_predict", f.NPredict}, {"max_tokens", f.MaxTokens}, {"max_completion_tokens", f.MaxCompletionTokens}} {
		if limit.value == nil {
			continue
		}
		if *limit.value < -1 {
			return p, badRequest("%q must be -1 (no limit) or more, got %d", limit.name, *limit.value)
		}
		p.nPredict = *limit.value
	}
	if len(f.Stop) > maxStopStrings {
		return p, badRequest("\"stop\" has %d strings; at most %d are accepted", len(f.Stop), maxStopStrings)
	}
	for _, s := range f.Stop {
		if len(s) > maxStopBytes {
			return p, badRequest("a \"stop\" string has %d bytes; at most %d are accepted", len(s), maxStopBytes)
		}
		if s != "" {
			p.stops = append(p.stops, s)
		}
	}
	return p, nil
}

// resolveSeed picks the request's seed, else the server's; -1 in either asks for a random seed.
func resolveSeed(request *int64, server int64) (uint32, *apiError) {
	seed := server
	if request != nil {
		seed = *request
	}
	switch {
	case seed == -1:
		return llama.SeedRandom, nil
	case seed < 0 || seed >= math.MaxUint32:
		return 0, badRequest("\"seed\" must be -1 (random) or between 0 and %d, got %d", uint32(math.MaxUint32-1), seed)
	}
	return uint32(seed), nil
}

// withinContext bounds the penalty window by a slot's context: llama.cpp allocates the window's history up
// front, so an unbounded repeat_last_n would be an allocation of the client's choosing.
func (p genParams) withinContext(slotCtx int) genParams {
	p.sampler.PenaltyLastN = min(p.sampler.PenaltyLastN, slotCtx)
	return p
}
