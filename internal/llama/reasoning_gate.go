package llama

import "slices"

// ReasoningTags are a thinking template's markers as tokens, for a lazy grammar held back while the model
// reasons (Grammar.HeldWhileReasoning). Prompt is the generation prompt's tokens: a prompt that opens the
// reasoning has the model reason from its first token.
type ReasoningTags struct {
	Start  []Token
	Ends   [][]Token
	Prompt []Token
}

// HeldWhileReasoning is g held back between the reasoning's start and end markers, as llama-server holds
// a lazy tool-call grammar back with its reasoning-budget sampler: there the grammar neither constrains
// nor reads the tokens, so a trigger in the reasoning starts no call; the end marker is given to the
// grammar once the reasoning ends, as llama-server replays it. A start marker of no token holds nothing.
func (g *Grammar) HeldWhileReasoning(tags ReasoningTags) *Grammar {
	held := *g
	held.reasoning = &tags
	return &held
}

// Where a sequence is in its reasoning, as llama-server's reasoning-budget sampler tracks it (with no
// budget: it never forces the end).
const (
	beforeReasoning = iota
	inReasoning
	afterReasoning
)

// reasoningGate follows one sequence through the reasoning markers, token by token.
type reasoningGate struct {
	tags            *ReasoningTags
	phase           int
	started, ending []Token // the tokens since each matcher last matched
	endMatch        []Token // the end marker that closed the reasoning
}

func newReasoningGate(tags *ReasoningTags) *reasoningGate {
	if len(tags.Start) == 0 || len(tags.Ends) == 0 {
		return nil
	}
	r := &reasoningGate{tags: tags}
	for _, t := range tags.Prompt {
		r.accept(t)
	}
	return r
}

// holds reports whether the grammar is held back now; a nil gate never holds.
func (r *reasoningGate) holds() bool { return r != nil && r.phase == inReasoning }

// accept moves past t: before or after the reasoning it looks for the start marker, in it for an end
// marker. It reports whether t ended the reasoning.
func (r *reasoningGate) accept(t Token) bool {
	switch r.phase {
	case beforeReasoning, afterReasoning:
		if seq := matchEnding(&r.started, t, [][]Token{r.tags.Start}); seq != nil {
			r.phase, r.ending, r.endMatch = inReasoning, nil, nil
		}
	case inReasoning:
		if seq := matchEnding(&r.ending, t, r.tags.Ends); seq != nil {
			r.phase, r.endMatch = afterReasoning, seq
			return true
		}
	}
	return false
}

// matchEnding adds t to the tokens seen and returns the longest of seqs they now end with, forgetting
// them on a match; nil when none.
func matchEnding(seen *[]Token, t Token, seqs [][]Token) []Token {
	*seen = append(*seen, t)
	longest := 0
	for _, s := range seqs {
		longest = max(longest, len(s))
	}
	if len(*seen) > longest {
		*seen = slices.Delete(*seen, 0, len(*seen)-longest)
	}
	var match []Token
	for _, s := range seqs {
		if len(s) > len(match) && len(s) <= len(*seen) && slices.Equal((*seen)[len(*seen)-len(s):], s) {
			match = s
		}
	}
	if match != nil {
		*seen = (*seen)[:0]
	}
	return match
}
