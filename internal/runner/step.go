package runner

import (
	"bytes"
	"slices"
	"time"

	"custos/internal/llama"
)

// step makes one decode over every active sequence: first one token for each generating slot, so running
// streams never stall behind a long prompt, then as much of the waiting prompts as the batch still holds.
// It then samples the next token of every slot whose logits the decode produced.
//
// Only the slots that run with the LoRA scales of this step (stepLoRA) take part: llama.cpp applies one
// set of adapters to a whole decode. The others wait for a step of their own scales.
func (s *scheduler) step() {
	s.batch.Clear()
	lora := s.stepLoRA()
	sequences := 0
	for _, sl := range s.slots {
		sl.inBatch, sl.inPrompt, sl.outIndex = false, false, -1
		if !sl.busy() || !sl.generating || !slices.Equal(sl.task.loraScales, lora) {
			continue
		}
		sl.outIndex = int32(s.batch.Len())
		s.batch.Add(sl.next, int32(len(sl.cached)), []int32{sl.id}, true)
		sl.cached = append(sl.cached, sl.next)
		sl.inBatch = true
		sequences++
	}
	for _, sl := range s.slots {
		if sl.busy() && !sl.generating && !sl.follower && slices.Equal(sl.task.loraScales, lora) && s.addPromptChunk(sl) {
			sequences++
		}
	}
	if s.batch.Len() == 0 {
		return
	}
	s.applyLoRA(lora)
	err := s.lctx.Decode(s.batch)
	s.stats.decodes++
	s.stats.busySlotsInDecodes += uint64(sequences)
	s.stats.maxSequencesPerDecode = max(s.stats.maxSequencesPerDecode, sequences)
	if err != nil {
		s.failBatch(err)
		return
	}
	for _, sl := range s.slots {
		if sl.inPrompt && sl.task.params.scorePrompt {
			s.scorePrompt(sl)
		}
		if sl.inPrompt && sl.task.params.returnProgress {
			s.reportProgress(sl)
		}
	}
	for _, sl := range s.slots {
		if sl.inBatch && sl.outIndex >= 0 {
			s.afterDecode(sl)
		}
	}
}

// addPromptChunk adds as much of sl's unevaluated prompt as fits the batch, asking for logits at the last
// prompt token (for an embedding, at every token, as pooling needs them all). An embedding prompt waits
// until it fits whole, and, since llama.cpp pools several sequences of a batch wrongly, until the batch
// is empty. It reports whether it added anything.
func (s *scheduler) addPromptChunk(sl *slot) bool {
	t := sl.task
	rest := t.prompt[len(sl.cached):]
	room := s.batch.Cap() - s.batch.Len()
	n := min(len(rest), room)
	if n == 0 || (t.embed && n < len(rest)) || (t.embed && s.lctx.OneSequencePerDecode() && s.batch.Len() > 0) {
		return false
	}
	whole := n == len(rest)
	sl.promptOut, sl.promptFrom = int32(s.batch.Len()), len(sl.cached)
	for i, tok := range rest[:n] {
		last := whole && i == n-1
		if last {
			sl.outIndex = int32(s.batch.Len())
		}
		s.batch.Add(tok, int32(len(sl.cached)+i), []int32{sl.id}, t.embed || last || t.params.scorePrompt)
	}
	sl.cached = append(sl.cached, rest[:n]...)
	sl.run.promptEvaluated += n
	sl.inBatch, sl.inPrompt = true, true
	return true
}

// failBatch ends every task that had tokens in a failed decode; their sequences' caches are in an unknown
// state, so they are emptied.
func (s *scheduler) failBatch(err error) {
	for _, sl := range s.slots {
		if !sl.inBatch {
			continue
		}
		s.lctx.SeqRemove(sl.id, 0, -1)
		sl.cached = sl.cached[:0]
		if sl.busy() {
			s.fail(sl.run, serverError(err))
		}
	}
}

// afterDecode handles a slot whose logits (or embedding) the last decode produced.
func (s *scheduler) afterDecode(sl *slot) {
	if sl.generating {
		s.sampleNext(sl)
		return
	}
	t, run := sl.task, sl.run
	run.promptDone = time.Now()
	s.stats.promptTokens += uint64(run.promptEvaluated)
	s.stats.promptSeconds += run.promptDone.Sub(run.started).Seconds()
	if t.embed {
		if s.lctx.Pooling() == llama.PoolingNone {
			// The whole prompt was decoded in this batch, from promptOut on (addPromptChunk).
			for i := range t.prompt {
				run.tokenEmbeddings = append(run.tokenEmbeddings, s.lctx.EmbeddingsIth(sl.promptOut+int32(i)))
			}
		} else {
			run.embedding = s.lctx.EmbeddingsSeq(sl.id)
		}
		s.lctx.SeqRemove(sl.id, 0, -1)
		sl.cached = sl.cached[:0]
		s.finish(sl, choiceEnd{})
		return
	}
	choices := []*slot{sl}
	for _, f := range run.slots[1:] {
		choices = append(choices, s.follow(sl, f))
	}
	for _, c := range choices {
		c.generating = true
		if t.params.echo {
			t.events <- event{echo: true, choice: c.choice, slot: int(c.id), probs: run.promptProbs}
		}
		if t.params.nPredict == 0 {
			s.finish(c, choiceEnd{finishReason: finishLength, stopType: stopTypeLimit})
			continue
		}
		s.sampleNext(c)
	}
}

// follow starts follower f of leader, which has just evaluated the prompt: f's sequence becomes a copy of
// the leader's (llama.cpp copies it before the next decode), and f samples its first token from the same
// logits.
func (s *scheduler) follow(leader, f *slot) *slot {
	s.lctx.SeqCopy(leader.id, f.id, -1, -1)
	f.cached = append(f.cached[:0], leader.cached...)
	f.follower = false
	f.outIndex = leader.outIndex
	return f
}

// sampleNext samples sl's next token from the logits of its batch position, with the token's probabilities
// when the request asked for them (the logits are read only then), or the token a spent reasoning budget
// forces.
func (s *scheduler) sampleNext(sl *slot) {
	var tok llama.Token
	var prob *tokenProb
	if forced, ok := sl.budget.forcedToken(); ok {
		tok, prob = s.drawForced(sl, forced)
	} else {
		tok, prob = s.draw(sl)
	}
	sl.budget.accept(tok, s.model.TokenPiece)
	s.onToken(sl, tok, prob)
}

// draw samples sl's next token as its request asks, with the token's probabilities when asked for.
func (s *scheduler) draw(sl *slot) (llama.Token, *tokenProb) {
	want := sl.task.params.probs
	switch {
	case !want.want:
		return sl.sampler.Sample(s.lctx, sl.outIndex), nil
	case want.post:
		tok, left := sl.sampler.SampleCandidates(s.lctx, sl.outIndex)
		return tok, postSamplingProbs(s.model, left, tok, want.n)
	default:
		tok := sl.sampler.Sample(s.lctx, sl.outIndex)
		return tok, preSamplingProbs(s.model, s.lctx.LogitsView(sl.outIndex), tok, want.n)
	}
}

// drawForced draws the token a spent reasoning budget forces (see reasoningBudget).
func (s *scheduler) drawForced(sl *slot, forced llama.Token) (llama.Token, *tokenProb) {
	want := sl.task.params.probs
	tok, left := sl.sampler.SampleForced(s.lctx, sl.outIndex, forced)
	switch {
	case want.post:
		return tok, postSamplingProbs(s.model, left, tok, want.n)
	case want.want:
		return tok, preSamplingProbs(s.model, s.lctx.LogitsView(sl.outIndex), tok, want.n)
	}
	return tok, nil
}

// onToken takes a sampled token (and its probabilities, or nil): it ends the choice at end of generation,
// a stop string, the token limit or a full context, and otherwise sends its text and queues it for the next
// decode. The end-of-generation token itself is not reported: it has no text. Under ignore_eos the
// end-of-generation tokens are banned (eogBans), so one that comes all the same is the sampler's answer
// to a complete grammar that allows no further token: the choice ends there, where llama-server fails the
// request ("Unexpected empty grammar stack").
func (s *scheduler) onToken(sl *slot, tok llama.Token, prob *tokenProb) {
	t := sl.task
	sl.predicted++
	s.stats.predictedTokens++
	if s.model.IsEOG(tok) {
		s.end(sl, choiceEnd{finishReason: finishStop, stopType: stopTypeEOS})
		return
	}
	sl.pendingTokens = append(sl.pendingTokens, tok)
	if prob != nil {
		sl.pendingProbs = append(sl.pendingProbs, *prob)
	}
	piece := replyPiece(s.model, t.params.preserved, tok)
	emit, stopped, word := sl.stop.push(sl.joiner.push(piece))
	emit, shallow := sl.indent.push(emit)
	if emit != "" {
		s.emit(sl, emit)
	}
	switch {
	case shallow:
		s.finish(sl, choiceEnd{finishReason: finishLength, stopType: stopTypeLimit})
	case stopped:
		s.finish(sl, choiceEnd{finishReason: finishStop, stopType: stopTypeWord, stoppingWord: word})
	case len(sl.cached)+1 >= s.slotCtx:
		// The next token would leave no cell free: llama-server stops here and calls the reply truncated.
		s.end(sl, choiceEnd{finishReason: finishLength, stopType: stopTypeLimit, truncated: true})
	case t.params.nPredict > 0 && sl.predicted >= t.params.nPredict, s.pastTimeLimit(sl, piece):
		s.end(sl, choiceEnd{finishReason: finishLength, stopType: stopTypeLimit})
	default:
		sl.next = tok
	}
}

// replyPiece is the text a token adds to a reply: its piece, or for a preserved token (a tool-call marker
// kept in the text) the token's own text, which a control token's piece leaves out.
func replyPiece(m *llama.Model, preserved map[llama.Token]bool, tok llama.Token) []byte {
	if preserved[tok] {
		return []byte(m.TokenText(tok))
	}
	return m.TokenPiece(tok)
}

// pastTimeLimit tells whether the token just generated (its piece) ends sl's choice under
// t_max_predict_ms: a new line after the time limit, counted from the first token, as llama-server does.
func (s *scheduler) pastTimeLimit(sl *slot, piece []byte) bool {
	limit := sl.task.params.maxPredictTime
	return limit > 0 && bytes.IndexByte(piece, '\n') >= 0 && time.Since(sl.run.promptDone) > limit
}

// scorePrompt records, for the prompt chunk sl just decoded, the probability of each prompt token given
// the ones before it (echo with logprobs); the first prompt token, which nothing predicts, is unscored.
func (s *scheduler) scorePrompt(sl *slot) {
	run, prompt := sl.run, sl.task.prompt
	n := sl.task.params.probs.n
	if len(run.promptProbs) == 0 {
		run.promptProbs = append(run.promptProbs, tokenProb{id: prompt[0], piece: s.model.TokenPiece(prompt[0]), unscored: true})
	}
	// The logits at position pos predict the token at pos+1.
	for pos := len(run.promptProbs) - 1; pos < len(sl.cached) && pos+1 < len(prompt); pos++ {
		idx := sl.promptOut + int32(pos-sl.promptFrom)
		run.promptProbs = append(run.promptProbs, *preSamplingProbs(s.model, s.lctx.LogitsView(idx), prompt[pos+1], n))
	}
}

// reportProgress sends how far sl has evaluated its prompt (return_progress).
func (s *scheduler) reportProgress(sl *slot) {
	run := sl.run
	sl.task.events <- event{choice: sl.choice, slot: int(sl.id), progress: &promptProgress{total: len(run.task.prompt),
		cache: run.reused, processed: len(sl.cached), timeMS: time.Since(run.started).Milliseconds()}}
}

// emit sends text of sl's choice with the tokens sampled since the last text.
func (s *scheduler) emit(sl *slot, text string) {
	if !sl.task.params.stream {
		// A reply answered whole goes out in one event when its choice ends (sendHeld): an event per token
		// would wake its handler at every step, taking a core from the decode threads for nothing.
		sl.held.text.WriteString(text)
		sl.held.tokens = append(sl.held.tokens, sl.pendingTokens...)
		sl.held.probs = append(sl.held.probs, sl.pendingProbs...)
		sl.pendingTokens, sl.pendingProbs = nil, nil
		return
	}
	ev := event{text: text, choice: sl.choice, slot: int(sl.id), tokens: sl.pendingTokens, probs: sl.pendingProbs,
		predicted: sl.predicted}
	if sl.task.params.timingsPerToken {
		ev.timings = s.totals(sl.run)
		ev.timings.predicted = sl.predicted
	}
	sl.task.events <- ev
	sl.pendingTokens, sl.pendingProbs = nil, nil
}

// sendHeld sends what a choice answered whole has released, when it ends.
func (s *scheduler) sendHeld(sl *slot) {
	h := &sl.held
	if h.text.Len() == 0 && len(h.tokens) == 0 {
		return
	}
	sl.task.events <- event{text: h.text.String(), choice: sl.choice, slot: int(sl.id), tokens: h.tokens, probs: h.probs,
		predicted: sl.predicted}
	*h = heldOutput{}
}

// end finishes a choice that did not stop on a stop string: the text held back (an unfinished character, a
// possible start of a stop string) is released first, unless it completes a stop string after all.
func (s *scheduler) end(sl *slot, end choiceEnd) {
	emit, stopped, word := sl.stop.push(sl.joiner.flush())
	if !stopped {
		emit += sl.stop.flush()
	} else {
		end.finishReason, end.stopType, end.stoppingWord = finishStop, stopTypeWord, word
	}
	emit, shallow := sl.indent.push(emit)
	if shallow {
		end.finishReason, end.stopType, end.stoppingWord = finishLength, stopTypeLimit, ""
	} else {
		emit += sl.indent.flush()
	}
	if emit != "" {
		s.emit(sl, emit)
	}
	s.finish(sl, end)
}
