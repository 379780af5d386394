package runner

import (
	"strings"
	"testing"

	"custos/internal/llama"
)

func intp(v int) *int           { return &v }
func floatp(v float64) *float64 { return &v }
func int64p(v int64) *int64     { return &v }

func TestResolveParamsDefaultsFollowTheServer(t *testing.T) {
	p, err := resolveParams(samplingFields{}, 42, 128)
	if err != nil {
		t.Fatal(err)
	}
	if p.nPredict != 128 || p.sampler.Seed != 42 || p.sampler.Temperature != defaultTemperature || p.sampler.TopK != defaultTopK {
		t.Fatalf("defaults = %+v", p)
	}
	p, _ = resolveParams(samplingFields{}, -1, -1)
	if p.sampler.Seed != llama.SeedRandom || p.nPredict != -1 {
		t.Fatalf("random seed / unlimited = %+v", p)
	}
}

func TestResolveParamsTakesTheRequest(t *testing.T) {
	f := samplingFields{Temperature: floatp(0), Seed: int64p(3), MaxTokens: intp(5), Stop: stopList{"", "x"},
		RepeatPenalty: floatp(1.1), PresencePenalty: floatp(0.5), FrequencyPenalty: floatp(0.25), MinP: floatp(0.1)}
	p, err := resolveParams(f, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	s := p.sampler
	if s.Temperature != 0 || s.Seed != 3 || p.nPredict != 5 || len(p.stops) != 1 || p.stops[0] != "x" ||
		s.RepeatPenalty != float32(1.1) || s.PresencePenalty != 0.5 || s.FrequencyPenalty != 0.25 || s.MinP != float32(0.1) {
		t.Fatalf("resolved %+v", p)
	}
}

func TestResolveParamsRejectsOutOfRangeValues(t *testing.T) {
	for name, f := range map[string]samplingFields{
		"top_p above 1":       {TopP: floatp(1.5)},
		"negative min_p":      {MinP: floatp(-0.1)},
		"max_tokens below -1": {MaxTokens: intp(-2)},
		"seed too large":      {Seed: int64p(1 << 40)},
		"negative seed":       {Seed: int64p(-5)},
		"too many stops":      {Stop: make(stopList, maxStopStrings+1)},
		"overlong stop":       {Stop: stopList{strings.Repeat("x", maxStopBytes+1)}},
	} {
		if _, err := resolveParams(f, -1, -1); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPenaltyWindowIsBoundedByTheContext(t *testing.T) {
	whole, err := resolveParams(samplingFields{RepeatLastN: intp(-1)}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := whole.withinContext(512).sampler.PenaltyLastN; got != 512 {
		t.Fatalf("repeat_last_n -1 gave a window of %d, want the slot context 512", got)
	}
	huge, err := resolveParams(samplingFields{RepeatLastN: intp(1 << 30)}, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := huge.withinContext(512).sampler.PenaltyLastN; got != 512 {
		t.Fatalf("repeat_last_n 2^30 gave a window of %d, want it bounded at 512", got)
	}
	if _, err := resolveParams(samplingFields{RepeatLastN: intp(-2)}, -1, -1); err == nil {
		t.Fatal("repeat_last_n -2 accepted")
	}
}
