package llama

import "time"

// ggml's worker threads wait for each other at a barrier after every operation of a graph, spinning. When
// another process takes one of the cores, the threads still running spin until the preempted one is
// scheduled again, once per operation: on a shared 2-core machine two threads then decode at a few dozen
// tokens per second where one decodes a thousand. A Context therefore treats its thread count as a
// ceiling: it keeps timing its Decodes and uses one thread for a kind of Decode while one thread has
// recently been the faster, trying the configured count again now and then. The outputs are the same
// either way (ggml splits the work by rows, so no sum depends on the thread count).

// Decode sizes are told apart because their cost per token differs: one token, a few (one per generating
// sequence), more (sequences with short prompts), and prompt chunks.
const (
	sizeOneToken = iota
	sizeFewTokens
	sizeSomeTokens
	sizePrompt
	decodeSizes
)

// The largest Decodes of the "few" and "some" sizes.
const (
	fewTokensMax  = 8
	someTokensMax = 64
)

func decodeSize(nTokens int) int {
	switch {
	case nTokens == 1:
		return sizeOneToken
	case nTokens <= fewTokensMax:
		return sizeFewTokens
	case nTokens <= someTokensMax:
		return sizeSomeTokens
	}
	return sizePrompt
}

// The two choices for a Decode size.
const (
	useConfigured = iota
	useOneThread
)

// trialEvery is, for each Decode size, the fewest Decodes between two trials of the choice not in use.
// Prompts are rare and long, so they try the other choice sooner: trialShare bounds what that costs.
var trialEvery = [decodeSizes]int{sizeOneToken: 8, sizeFewTokens: 8, sizeSomeTokens: 4, sizePrompt: 1}

const (
	// firstTrialAfter is the number of Decodes of a size before the first trial: the very first one pays
	// for allocations and page faults, whatever its thread count.
	firstTrialAfter = 2
	// trialShare bounds the time trials cost: after a trial that took d, the next one waits until the
	// Decodes of that size have taken trialShare×d.
	trialShare = 10
	// maxBackoff bounds how far trials are spaced out while they keep confirming the choice in use: each
	// such trial doubles the number of Decodes before the next, up to 2^maxBackoff times, so that a
	// choice that keeps winning costs little. The time bound (trialShare) is not doubled: a burst of
	// contention that made one thread the choice must not keep it there long after it ends.
	maxBackoff = 3
	// weightInUse is the weight of a new timing in the moving average of the choice in use, timed at
	// every Decode. A trial's timing replaces the other choice's: what it measured long ago (the first
	// Decodes after a load are slow, whatever the thread count, as the model's pages come in) must not
	// outweigh what it measures now.
	weightInUse = 0.1
)

// switchMargin is, for each choice, how much faster than the one in use it must have been to be taken:
// timings are noisy. One thread must win clearly: a wrong switch to it costs a quiet machine up to the
// second core's gain, while the contention it escapes makes two threads several times slower.
var switchMargin = [2]float64{useConfigured: 0.9, useOneThread: 0.7}

// threadChoice chooses between the configured thread count and one thread, for each Decode size.
type threadChoice struct {
	sizes [decodeSizes]sizeChoice
}

// sizeChoice is the timing record of one Decode size.
type sizeChoice struct {
	// perToken is the moving average of the time per token of each choice; 0 before its first timing.
	perToken [2]float64
	inUse    int
	// sinceTrial counts the Decodes and their time since the last trial; trialCost is what it took.
	sinceTrial     int
	timeSinceTrial time.Duration
	trialCost      time.Duration
	// inTrial is the number of Decodes made so far in the trial under way.
	inTrial int
	// backoff is the number of trials in a row that confirmed the choice in use.
	backoff uint
	// warm is set once the first Decode of the size, which pays for allocations whatever its thread
	// count, has been left out of the timings.
	warm bool
}

// trialDecodes is the length of a trial, for each Decode size. Only its last Decode is timed: the first
// pays for the switch (a pool whose workers went to sleep, or the other pool's workers still spinning),
// which is negligible next to a prompt's cost only.
var trialDecodes = [decodeSizes]int{sizeOneToken: 2, sizeFewTokens: 2, sizeSomeTokens: 2, sizePrompt: 1}

// pick returns the choice for the next Decode of size.
func (tc *threadChoice) pick(size int) int {
	s := &tc.sizes[size]
	if s.inTrial > 0 {
		return 1 - s.inUse
	}
	every := trialEvery[size]
	if s.perToken[1-s.inUse] == 0 {
		every = min(every, firstTrialAfter) // nothing known yet of the other choice
	}
	every <<= s.backoff
	if s.sinceTrial >= every && s.timeSinceTrial >= trialShare*s.trialCost {
		return 1 - s.inUse
	}
	return s.inUse
}

// record takes the time a Decode of nTokens made with choice took.
func (tc *threadChoice) record(nTokens, choice int, took time.Duration) {
	size := decodeSize(nTokens)
	s := &tc.sizes[size]
	if !s.warm {
		s.warm = true
		return
	}
	x := float64(took) / float64(nTokens)
	weight := weightInUse
	if choice != s.inUse {
		if s.inTrial == 0 {
			s.trialCost = 0
		}
		s.inTrial++
		s.trialCost += took
		if s.inTrial < trialDecodes[size] {
			return
		}
		weight = 1
		s.inTrial, s.sinceTrial, s.timeSinceTrial = 0, 0, 0
	} else {
		s.sinceTrial++
		s.timeSinceTrial += took
	}
	if s.perToken[choice] == 0 {
		s.perToken[choice] = x
	} else {
		s.perToken[choice] += weight * (x - s.perToken[choice])
	}
	other := 1 - s.inUse
	switch {
	case s.perToken[other] != 0 && s.perToken[other] < switchMargin[other]*s.perToken[s.inUse]:
		// The trial cost measured the choice now taken; the next trial, of the one left, is bounded by
		// the count alone until it has cost something.
		s.inUse, s.backoff, s.trialCost = other, 0, 0
	case choice != s.inUse && x >= s.perToken[s.inUse]:
		s.backoff = min(s.backoff+1, maxBackoff)
	case choice != s.inUse:
		s.backoff = 0 // close: look again soon
	}
}
