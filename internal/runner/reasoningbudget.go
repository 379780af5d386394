package runner

import (
	"math"
	"slices"
	"strings"

	"custos/internal/llama"
)

// A reasoning budget bounds how many tokens a thinking model may spend inside its reasoning block, as
// llama-server's reasoning-budget sampler does: once the budget is spent (and the last token has finished
// its UTF-8 character), the budget message and the end marker are forced token by token, and the reply
// goes on as content. reasoning_control arms the same machinery without a bound, so that
// POST /v1/chat/completions/control can end the reasoning of a running completion.

// budgetFields are the chat request's reasoning-budget fields, which llama-server reads on chat only (it
// hands the template's markers to its sampler there).
type budgetFields struct {
	ReasoningBudgetTokens  *int    `json:"reasoning_budget_tokens"`
	ThinkingBudgetTokens   *int    `json:"thinking_budget_tokens"`
	ReasoningBudgetMessage *string `json:"reasoning_budget_message"`
	ReasoningControl       bool    `json:"reasoning_control"`
}

// budgetSpec is a task's reasoning budget, in tokens of its model.
type budgetSpec struct {
	start, end []llama.Token
	// forced is what a spent budget forces: the message's tokens, then the end marker's.
	forced []llama.Token
	// tokens is the budget; math.MaxInt32 when only control asked for the machinery.
	tokens int
	// prefill is the generation prompt, which may already open (or open and close) the reasoning.
	prefill []llama.Token
	control bool
}

// budgetState is where a reply stands against its reasoning budget.
type budgetState int

const (
	budgetIdle        budgetState = iota // before the reasoning's start marker
	budgetCounting                       // inside the reasoning, spending the budget
	budgetWaitingUTF8                    // spent, waiting for the last token's character to be whole
	budgetForcing                        // forcing the message and the end marker
	budgetDone                           // after the reasoning, until another start marker re-arms it
)

// reasoningBudget is one choice's budget state, owned by the scheduler goroutine like the rest of its slot.
type reasoningBudget struct {
	spec      *budgetSpec
	state     budgetState
	remaining int
	forcePos  int
	start     tokenWindow
	end       tokenWindow
}

// newReasoningBudget starts a choice's budget, fed with the generation prompt; nil when the task has none.
func newReasoningBudget(spec *budgetSpec, piece func(llama.Token) []byte) *reasoningBudget {
	if spec == nil {
		return nil
	}
	b := &reasoningBudget{spec: spec, remaining: spec.tokens, start: newTokenWindow(spec.start), end: newTokenWindow(spec.end)}
	for _, tok := range spec.prefill {
		b.accept(tok, piece)
	}
	return b
}

// forcedToken is the token the reply must take next, when the budget is being enforced.
func (b *reasoningBudget) forcedToken() (llama.Token, bool) {
	if b == nil || b.state != budgetForcing || b.forcePos >= len(b.spec.forced) {
		return 0, false
	}
	return b.spec.forced[b.forcePos], true
}

// accept moves the budget on by one token of the reply (or of the generation prompt).
func (b *reasoningBudget) accept(tok llama.Token, piece func(llama.Token) []byte) {
	if b == nil {
		return
	}
	switch b.state {
	case budgetIdle, budgetDone:
		if b.start.push(tok) {
			b.arm()
		}
	case budgetCounting, budgetWaitingUTF8:
		if b.end.push(tok) {
			b.state = budgetDone
			return
		}
		whole := utf8Complete(piece(tok))
		if b.state == budgetWaitingUTF8 {
			if whole {
				b.force()
			}
			return
		}
		b.remaining--
		if b.remaining <= 0 {
			if whole {
				b.force()
			} else {
				b.state = budgetWaitingUTF8
				b.end.reset()
			}
		}
	case budgetForcing:
		// The end marker may come before the forced sequence is through, from a generation prompt that
		// closes the reasoning itself: the reasoning is over then, and nothing more is forced.
		b.forcePos++
		if b.end.push(tok) || b.forcePos >= len(b.spec.forced) {
			b.state = budgetDone
		}
	}
}

// arm starts a fresh budget at a start marker; a budget of 0 forces the end at once.
func (b *reasoningBudget) arm() {
	b.state, b.remaining = budgetCounting, b.spec.tokens
	b.end.reset()
	if b.remaining <= 0 {
		b.force()
	}
}

func (b *reasoningBudget) force() {
	b.state, b.forcePos = budgetForcing, 0
	b.end.reset()
}

// endNow is the control route's reasoning_end: it ends a reasoning being counted, and reports whether it did.
func (b *reasoningBudget) endNow() bool {
	if b == nil || b.state != budgetCounting {
		return false
	}
	b.force()
	return true
}

// tokenWindow recognises one token sequence in a stream of tokens; after a match it starts afresh.
type tokenWindow struct {
	seq    []llama.Token
	recent []llama.Token
}

func newTokenWindow(seq []llama.Token) tokenWindow {
	return tokenWindow{seq: seq, recent: make([]llama.Token, 0, len(seq))}
}

// push adds a token and reports whether the sequence ends with it.
func (w *tokenWindow) push(tok llama.Token) bool {
	if len(w.seq) == 0 {
		return false
	}
	if len(w.recent) == len(w.seq) {
		w.recent = append(w.recent[:0], w.recent[1:]...)
	}
	w.recent = append(w.recent, tok)
	if slices.Equal(w.recent, w.seq) {
		w.reset()
		return true
	}
	return false
}

func (w *tokenWindow) reset() { w.recent = w.recent[:0] }

// utf8Complete reports whether a token's text ends on a whole UTF-8 character, as llama-server judges each
// token's piece on its own (a piece of continuation bytes only is not whole).
func utf8Complete(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	for i := 1; i <= min(4, len(p)); i++ {
		c := p[len(p)-i]
		if c&0xC0 != 0x80 {
			need := 1
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			case c >= 0xC0:
				need = 2
			}
			return i >= need
		}
	}
	return false
}

// reasoningBudgetSpec resolves a chat request's budget against the server's --reasoning-budget: nil when
// none applies. As in llama-server it needs a thinking template with both markers, and a budget (-1 is
// none) or reasoning_control. grammar is one that binds the whole reply, reasoning included (a client's
// own grammar; see genParams.wholeReplyGrammar): the end could not be forced against it, so a budget asked
// for together with one is refused by name rather than left unenforced, and the server's default yields.
func (e *engine) reasoningBudgetSpec(f budgetFields, serverBudget *int, serverMessage string, reply *replyFormat, grammar string) (*budgetSpec, *apiError) {
	tokens, field := -1, "reasoning_budget_tokens"
	switch {
	case f.ReasoningBudgetTokens != nil:
		tokens = *f.ReasoningBudgetTokens
	case f.ThinkingBudgetTokens != nil:
		tokens, field = *f.ThinkingBudgetTokens, "thinking_budget_tokens"
	}
	if tokens < -1 || tokens > math.MaxInt32 {
		return nil, badRequest("%q must be between -1 and %d, got %d", field, math.MaxInt32, tokens)
	}
	asked := tokens != -1 || f.ReasoningControl
	if tokens == -1 && serverBudget != nil {
		tokens = *serverBudget
	}
	if reply == nil || reply.thinking == nil || (tokens < 0 && !f.ReasoningControl) {
		return nil, nil
	}
	tags := reply.thinking.tags
	start, end := strings.TrimSpace(tags.start), strings.TrimSpace(tags.end)
	if start == "" || end == "" {
		return nil, nil
	}
	if grammar != "" {
		if asked {
			return nil, unsupportedField(field, "a grammar given as \"grammar\" constrains the whole reply, reasoning included")
		}
		return nil, nil
	}
	message := serverMessage
	if f.ReasoningBudgetMessage != nil {
		message = *f.ReasoningBudgetMessage
	}
	spec := &budgetSpec{tokens: tokens, control: f.ReasoningControl}
	if tokens < 0 {
		spec.tokens = math.MaxInt32
	}
	var err error
	if spec.start, err = e.model.Tokenize(start, false, true); err != nil {
		return nil, serverError(err)
	}
	if spec.end, err = e.model.Tokenize(end, false, true); err != nil {
		return nil, serverError(err)
	}
	if message != "" {
		if spec.forced, err = e.model.Tokenize(message, false, true); err != nil {
			return nil, serverError(err)
		}
	}
	spec.forced = append(spec.forced, spec.end...)
	if spec.prefill, err = e.generationPromptTokens(reply.thinking.generationPrompt); err != nil {
		return nil, serverError(err)
	}
	return spec, nil
}

// generationPromptTokens tokenizes the generation prompt as llama-server feeds it to its samplers: without
// a space some tokenizers put before a first special token.
func (e *engine) generationPromptTokens(prompt string) ([]llama.Token, error) {
	if prompt == "" {
		return nil, nil
	}
	toks, err := e.model.Tokenize(prompt, false, true)
	if err != nil || len(toks) == 0 {
		return toks, err
	}
	first := e.model.TokenPieceSpecial(toks[0])
	if len(first) > 0 && isSpace(first[0]) && !isSpace(prompt[0]) {
		toks = toks[1:]
	}
	return toks, nil
}

func isSpace(c byte) bool { return strings.IndexByte(" \t\n\v\f\r", c) >= 0 }
