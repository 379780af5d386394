package runner

import (
	"encoding/json"
	"slices"

	"custos/internal/llama"
)

// lazyGrammarFields are llama-server's fields for a grammar that applies only from a trigger on, which
// its completion endpoints take from the client (on chat its template's tool-call handling sets them, so
// a client's are not read there).
type lazyGrammarFields struct {
	GrammarLazy     bool             `json:"grammar_lazy"`
	GrammarTriggers []grammarTrigger `json:"grammar_triggers"`
	PreservedTokens []string         `json:"preserved_tokens"`
}

// Trigger types, as llama-server numbers them (common_grammar_trigger_type).
const (
	triggerToken       = 0
	triggerWord        = 1
	triggerPattern     = 2
	triggerPatternFull = 3
)

// grammarTrigger is one entry of grammar_triggers: {"type", "value"} and, for a token, "token".
type grammarTrigger struct {
	Type  int    `json:"type"`
	Value string `json:"value"`
	Token *int   `json:"token,omitempty"`
}

func (g *grammarTrigger) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type  *int    `json:"type"`
		Value *string `json:"value"`
		Token *int    `json:"token"`
	}
	if json.Unmarshal(b, &raw) != nil || raw.Type == nil || raw.Value == nil {
		return &fieldError{"grammar_triggers", `expected objects {"type": 0 to 3, "value": "..."} (type 0, a token, also "token": id)`}
	}
	*g = grammarTrigger{Type: *raw.Type, Value: *raw.Value, Token: raw.Token}
	return nil
}

// lazyGrammar applies f to p as llama-server does: preserved_tokens (those that are one token) are written
// out in the reply; a trigger word that is one token becomes a token trigger, and must then be preserved;
// with grammar_lazy the grammar applies from the first trigger on (never, when grammar_triggers is not
// given; an empty list is refused). Triggers that are regular
// expressions are refused by name: llama.cpp compiles them with std::regex, whose errors, and a match the
// grammar cannot continue, end the process.
func (e *engine) lazyGrammar(p *genParams, f lazyGrammarFields) *apiError {
	for _, text := range f.PreservedTokens {
		toks, err := e.model.Tokenize(text, false, true)
		if err != nil {
			return serverError(err)
		}
		if len(toks) == 1 {
			if p.preserved == nil {
				p.preserved = map[llama.Token]bool{}
			}
			p.preserved[toks[0]] = true
		}
	}
	var words []string
	var tokens []llama.Token
	for _, t := range f.GrammarTriggers {
		switch t.Type {
		case triggerToken:
			if t.Token == nil || *t.Token < 0 || *t.Token >= e.model.NVocab() {
				return badRequest("\"grammar_triggers\": a token trigger needs \"token\", an id of the vocabulary (0 to %d)", e.model.NVocab()-1)
			}
			tokens = append(tokens, llama.Token(*t.Token))
			p.triggers = append(p.triggers, t)
		case triggerWord:
			toks, err := e.model.Tokenize(t.Value, false, true)
			if err != nil {
				return serverError(err)
			}
			if len(toks) != 1 {
				words = append(words, t.Value)
				p.triggers = append(p.triggers, t)
				continue
			}
			if !p.preserved[toks[0]] {
				return badRequest("\"grammar_triggers\": the trigger word %q is one token, which \"preserved_tokens\" must name", t.Value)
			}
			id := int(toks[0])
			tokens = append(tokens, toks[0])
			p.triggers = append(p.triggers, grammarTrigger{Type: triggerToken, Value: t.Value, Token: &id})
		case triggerPattern, triggerPatternFull:
			return unsupportedField("grammar_triggers", "triggers of type 2 and 3 (regular expressions) are not supported; "+
				"words (type 1) and tokens (type 0) are")
		default:
			return badRequest("\"grammar_triggers\": type %d is not one of 0 (token), 1 (word), 2 and 3 (patterns)", t.Type)
		}
	}
	p.grammarLazy = f.GrammarLazy
	if !f.GrammarLazy {
		return nil
	}
	if len(words) == 0 && len(tokens) == 0 {
		if f.GrammarTriggers != nil {
			return badRequest("\"grammar_lazy\" needs \"grammar_triggers\" (no triggers set for lazy grammar)")
		}
		// As llama-server: a lazy grammar without triggers never applies.
		p.sampler.Grammar = nil
		return nil
	}
	if p.grammar == "" {
		return nil
	}
	g, err := llama.ParseLazyGrammar(e.model, p.grammar, words, tokens...)
	if err != nil {
		return badRequest("\"grammar\": %v", describeGrammarError(err))
	}
	p.sampler.Grammar = g
	return nil
}

// preservedIDs are the preserved tokens in id order, as llama-server lists them.
func preservedIDs(preserved map[llama.Token]bool) []int {
	ids := make([]int, 0, len(preserved))
	for t := range preserved {
		ids = append(ids, int(t))
	}
	slices.Sort(ids)
	return ids
}
