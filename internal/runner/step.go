package runner

import (
	"time"

	"custos/internal/llama"
)

// step makes one decode over every active sequence: first one token for each generating slot, so running
// streams never stall behind a long prompt, then as much of the waiting prompts as the batch still holds.
// It then samples the next token of every slot whose logits the decode produced.
func (s *scheduler) step() {
	s.batch.Clear()
	sequences := 0
	for _, sl := range s.slots {
		sl.inBatch, sl.outIndex = false, -1
		if !sl.busy() || !sl.generating {
			continue
		}
		sl.outIndex = int32(s.batch.Len())
		s.batch.Add(sl.next, int32(len(sl.cached)), []int32{sl.id}, true)
		sl.cached = append(sl.cached, sl.next)
		sl.inBatch = true
		sequences++
	}
	for _, sl := range s.slots {
		if sl.busy() && !sl.generating && s.addPromptChunk(sl) {
			sequences++
		}
	}
	if s.batch.Len() == 0 {
		return
	}
	err := s.lctx.Decode(s.batch)
	s.stats.decodes++
	s.stats.busySlotsInDecodes += uint64(sequences)
	s.stats.maxSequencesPerDecode = max(s.stats.maxSequencesPerDecode, sequences)
	if err != nil {
		s.failBatch(err)
		return
	}
	for _, sl := range s.slots {
		if sl.inBatch && sl.outIndex >= 0 {
			s.afterDecode(sl)
		}
	}
}

// addPromptChunk adds as much of sl's unevaluated prompt as fits the batch, asking for logits at the last
// prompt token (for an embedding, at every token, as pooling needs them all). An embedding prompt waits
// until it fits whole, and, under a pooling llama.cpp gets wrong for several sequences of a batch (rank
// for /rerank), until the batch is empty. It reports whether it added anything.
func (s *scheduler) addPromptChunk(sl *slot) bool {
	t := sl.task
	rest := t.prompt[len(sl.cached):]
	room := s.batch.Cap() - s.batch.Len()
	n := min(len(rest), room)
	if n == 0 || (t.embed && n < len(rest)) || (t.embed && s.lctx.OneSequencePerDecode() && s.batch.Len() > 0) {
		return false
	}
	whole := n == len(rest)
	for i, tok := range rest[:n] {
		last := whole && i == n-1
		if last {
			sl.outIndex = int32(s.batch.Len())
		}
		s.batch.Add(tok, int32(len(sl.cached)+i), []int32{sl.id}, t.embed || last)
	}
	sl.cached = append(sl.cached, rest[:n]...)
	sl.promptEvaluated += n
	sl.inBatch = true
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
		s.finish(sl, &result{err: serverError(err)})
	}
}

// afterDecode handles a slot whose logits (or embedding) the last decode produced.
func (s *scheduler) afterDecode(sl *slot) {
	t := sl.task
	if !sl.generating {
		sl.promptDone = time.Now()
		s.stats.promptTokens += uint64(sl.promptEvaluated)
		s.stats.promptSeconds += sl.promptDone.Sub(sl.started).Seconds()
		if t.embed {
			emb := s.lctx.EmbeddingsSeq(sl.id)
			s.lctx.SeqRemove(sl.id, 0, -1)
			sl.cached = sl.cached[:0]
			s.finish(sl, &result{embedding: emb})
			return
		}
		sl.generating = true
		if t.params.nPredict == 0 {
			s.finish(sl, &result{finishReason: finishLength, stopType: stopTypeLimit})
			return
		}
	}
	s.onToken(sl, sl.sampler.Sample(s.lctx, sl.outIndex))
}

// onToken takes a sampled token: it ends the task at end of generation, a stop string, the token limit or
// a full context, and otherwise sends its text and queues it for the next decode.
func (s *scheduler) onToken(sl *slot, tok llama.Token) {
	t := sl.task
	sl.predicted++
	s.stats.predictedTokens++
	if !t.params.ignoreEOS && s.model.IsEOG(tok) {
		s.end(sl, &result{finishReason: finishStop, stopType: stopTypeEOS})
		return
	}
	emit, stopped, word := sl.stop.push(sl.joiner.push(s.model.TokenPiece(tok)))
	if emit != "" {
		t.events <- event{text: emit, slot: int(sl.id)}
	}
	switch {
	case stopped:
		s.finish(sl, &result{finishReason: finishStop, stopType: stopTypeWord, stoppingWord: word})
	case t.params.nPredict > 0 && sl.predicted >= t.params.nPredict, len(sl.cached) >= s.slotCtx:
		s.end(sl, &result{finishReason: finishLength, stopType: stopTypeLimit})
	default:
		sl.next = tok
	}
}

// end finishes a task that did not stop on a stop string: the text held back (an unfinished character, a
// possible start of a stop string) is released first, unless it completes a stop string after all.
func (s *scheduler) end(sl *slot, res *result) {
	emit, stopped, word := sl.stop.push(sl.joiner.flush())
	if !stopped {
		emit += sl.stop.flush()
	} else {
		res.finishReason, res.stopType, res.stoppingWord = finishStop, stopTypeWord, word
	}
	if emit != "" {
		sl.task.events <- event{text: emit, slot: int(sl.id)}
	}
	s.finish(sl, res)
}
