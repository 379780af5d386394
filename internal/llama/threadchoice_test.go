package llama

import (
	"testing"
	"time"
)

// simulate runs n Decodes of nTokens through tc, each taking cost(choice), and returns how many and how
// much time went to each choice.
func simulate(tc *threadChoice, n, nTokens int, cost func(choice int) time.Duration) (count [2]int, spent [2]time.Duration) {
	for range n {
		choice := tc.pick(decodeSize(nTokens))
		d := cost(choice)
		tc.record(nTokens, choice, d)
		count[choice]++
		spent[choice] += d
	}
	return count, spent
}

func costs(configured, oneThread time.Duration) func(int) time.Duration {
	return func(choice int) time.Duration {
		if choice == useConfigured {
			return configured
		}
		return oneThread
	}
}

// TestThreadChoiceLeavesThreadsThatWaitForTheirCores: when the configured threads are 10 times slower
// than one (their cores are taken), one thread is used, and past the first trial, the trials of the configured count take a
// bounded share of the time.
func TestThreadChoiceLeavesThreadsThatWaitForTheirCores(t *testing.T) {
	var tc threadChoice
	slow := costs(10*time.Millisecond, time.Millisecond)
	first := 1 + firstTrialAfter + trialDecodes[sizeOneToken] // the warm-up Decode is not timed
	if count, _ := simulate(&tc, first, 1, slow); count[useOneThread] != trialDecodes[sizeOneToken] || tc.sizes[sizeOneToken].inUse != useOneThread {
		t.Fatalf("the first %d Decodes: %v per choice, in use %d; want a trial of one thread, then one thread", first, count, tc.sizes[sizeOneToken].inUse)
	}
	count, spent := simulate(&tc, 2000, 1, slow)
	if got := tc.sizes[sizeOneToken].inUse; got != useOneThread {
		t.Fatalf("in use after 2000 Decodes: choice %d, want one thread", got)
	}
	total := spent[0] + spent[1]
	if share := float64(spent[useConfigured]) / float64(total); share > 2.0/trialShare {
		t.Errorf("trials of the slow configured count took %.0f%% of the time (%d of %d Decodes)", 100*share, count[useConfigured], 2000)
	}
	if count[useConfigured] < 2 {
		t.Errorf("the configured count was tried %d times in 2000 Decodes: it would never come back", count[useConfigured])
	}
}

// TestThreadChoiceKeepsFasterConfiguredThreads: on an idle machine the configured threads are faster, and
// only trials, fewer and fewer, use one thread.
func TestThreadChoiceKeepsFasterConfiguredThreads(t *testing.T) {
	var tc threadChoice
	count, _ := simulate(&tc, 1000, 4, costs(600*time.Microsecond, time.Millisecond))
	if got := tc.sizes[sizeFewTokens].inUse; got != useConfigured {
		t.Fatalf("in use: choice %d, want the configured count", got)
	}
	// Trials that keep confirming the configured count are spaced out.
	if trials := count[useOneThread] / trialDecodes[sizeFewTokens]; trials > 1000/trialEvery[sizeFewTokens]/4 {
		t.Errorf("one thread was used for %d of 1000 Decodes", count[useOneThread])
	}
}

// TestThreadChoiceComesBackWhenTheCoresFree: after a busy period the configured count is taken again
// within a bounded number of Decodes once it is faster.
func TestThreadChoiceComesBackWhenTheCoresFree(t *testing.T) {
	var tc threadChoice
	simulate(&tc, 500, 512, costs(100*time.Millisecond, 20*time.Millisecond))
	if tc.sizes[sizePrompt].inUse != useOneThread {
		t.Fatal("one thread not chosen while the configured count was 5 times slower")
	}
	for i := range 2000 {
		simulate(&tc, 1, 512, costs(10*time.Millisecond, 20*time.Millisecond))
		if tc.sizes[sizePrompt].inUse == useConfigured {
			t.Logf("back to the configured count after %d Decodes", i+1)
			return
		}
	}
	t.Fatal("still one thread 2000 Decodes after the configured count became twice as fast")
}

// TestThreadChoiceTellsSizesApart: a choice made for one-token Decodes does not carry over to prompts.
func TestThreadChoiceTellsSizesApart(t *testing.T) {
	var tc threadChoice
	simulate(&tc, 200, 1, costs(10*time.Millisecond, time.Millisecond))
	if tc.sizes[sizeOneToken].inUse != useOneThread || tc.sizes[sizePrompt].inUse != useConfigured {
		t.Fatalf("choices after one-token Decodes only: %+v", tc.sizes)
	}
}

// TestContextTimesItsDecodesUnlessFixed checks the wiring: a 2-thread context tries one thread within a
// few dozen Decodes, and one made with FixedThreads never does.
func TestContextTimesItsDecodesUnlessFixed(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	prompt := tokens(t, m, testPrompt)
	adaptive := newContext(t, m, ContextParams{NCtx: 256, NThreads: 2})
	generate(t, m, adaptive, prompt, 3*trialEvery[sizeOneToken], SamplerParams{})
	if got := adaptive.choice.sizes[sizeOneToken].perToken; got[useConfigured] == 0 || got[useOneThread] == 0 {
		t.Errorf("after %d one-token Decodes the timings per choice are %v: want both timed", 3*trialEvery[sizeOneToken], got)
	}
	fixed := newContext(t, m, ContextParams{NCtx: 256, NThreads: 2, FixedThreads: true})
	generate(t, m, fixed, prompt, 3*trialEvery[sizeOneToken], SamplerParams{})
	if got := fixed.choice.sizes; got != [decodeSizes]sizeChoice{} {
		t.Errorf("a FixedThreads context timed its Decodes: %+v", got)
	}
	if fixed.applied != [2]int32{2, 2} {
		t.Errorf("a FixedThreads context applied %v threads, want [2 2]", fixed.applied)
	}
}

// TestThreadChoiceTriesOneThreadOnTheThirdPrompt: prompts are too rare to wait for many before a trial;
// the first is not timed, the second is, the third is the trial.
func TestThreadChoiceTriesOneThreadOnTheThirdPrompt(t *testing.T) {
	var tc threadChoice
	count, _ := simulate(&tc, 3, 512, costs(time.Second, 100*time.Millisecond))
	if count != [2]int{2, 1} || tc.sizes[sizePrompt].inUse != useOneThread {
		t.Fatalf("three prompts: %v Decodes per choice, in use %d; want 2 and 1, then one thread", count, tc.sizes[sizePrompt].inUse)
	}
}

// TestThreadChoiceForgetsASlowColdStart: the first Decodes after a model loads are slow whatever the
// thread count; a choice that had them must win back its place at its first trial once it is faster.
func TestThreadChoiceForgetsASlowColdStart(t *testing.T) {
	var tc threadChoice
	simulate(&tc, 3, 1, costs(50*time.Millisecond, 50*time.Millisecond))
	simulate(&tc, 4, 1, costs(50*time.Millisecond, 8*time.Millisecond))
	if tc.sizes[sizeOneToken].inUse != useOneThread {
		t.Fatal("one thread not taken while the configured count was cold")
	}
	warm := costs(5*time.Millisecond, 8*time.Millisecond)
	for i := range 100 {
		simulate(&tc, 1, 1, warm)
		if tc.sizes[sizeOneToken].inUse == useConfigured {
			t.Logf("back to the configured count after %d Decodes", i+1)
			return
		}
	}
	t.Fatalf("still one thread 100 Decodes after the configured count warmed up: %+v", tc.sizes[sizeOneToken])
}
