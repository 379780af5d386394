package runner

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFixedSeedGivesIdenticalOutput(t *testing.T) {
	f := runnerFor(t, false)
	body := chatBody("Tell me a story", map[string]any{"seed": 1234, "temperature": 1.0, "max_tokens": 40})
	var first, second chatReply
	f.postOK(t, "/v1/chat/completions", body, &first)
	f.postOK(t, "/v1/chat/completions", body, &second)
	if first.Choices[0].Message.Content == "" {
		t.Fatal("empty reply")
	}
	if first.Choices[0].Message.Content != second.Choices[0].Message.Content {
		t.Fatalf("same seed, different text:\n%q\n%q", first.Choices[0].Message.Content, second.Choices[0].Message.Content)
	}
}

func TestChatReplyShapeAndUsage(t *testing.T) {
	f := runnerFor(t, false)
	var r chatReply
	f.postOK(t, "/v1/chat/completions", chatBody("hi", map[string]any{"max_tokens": 12, "ignore_eos": true}), &r)
	if r.Object != "chat.completion" || len(r.Choices) != 1 || r.Choices[0].Message.Role != "assistant" {
		t.Fatalf("reply %+v", r)
	}
	u := r.Usage
	if u.CompletionTokens != 12 || u.PromptTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Fatalf("usage %+v", u)
	}
	if r.Choices[0].FinishReason != finishLength {
		t.Fatalf("finish_reason %q after max_tokens, want length", r.Choices[0].FinishReason)
	}
}

// streamedText joins the text of a stream's events, read with pick, and returns the last event.
func streamedText(t *testing.T, events []json.RawMessage, pick func(json.RawMessage) (string, bool)) string {
	t.Helper()
	var all strings.Builder
	for _, ev := range events {
		text, ok := pick(ev)
		if !ok {
			t.Fatalf("unexpected event %s", ev)
		}
		all.WriteString(text)
	}
	return all.String()
}

func TestStreamingConcatenatesToTheNonStreamingText(t *testing.T) {
	f := runnerFor(t, false)
	settings := func() map[string]any {
		return map[string]any{"seed": 99, "temperature": 0.9, "max_tokens": 48, "ignore_eos": true}
	}

	t.Run("chat", func(t *testing.T) {
		var whole chatReply
		f.postOK(t, "/v1/chat/completions", chatBody("stream please", settings()), &whole)
		events, done := f.streamEvents(t, "/v1/chat/completions", chatBody("stream please", settings()))
		if !done {
			t.Fatal("no [DONE] marker")
		}
		finish := ""
		text := streamedText(t, events, func(ev json.RawMessage) (string, bool) {
			var c struct {
				Object  string `json:"object"`
				Choices []struct {
					Delta        struct{ Content string } `json:"delta"`
					FinishReason *string                  `json:"finish_reason"`
				} `json:"choices"`
			}
			if json.Unmarshal(ev, &c) != nil || c.Object != "chat.completion.chunk" || len(c.Choices) != 1 {
				return "", false
			}
			if c.Choices[0].FinishReason != nil {
				finish = *c.Choices[0].FinishReason
			}
			return c.Choices[0].Delta.Content, true
		})
		if text == "" || text != whole.Choices[0].Message.Content || finish != whole.Choices[0].FinishReason {
			t.Fatalf("streamed %q (%s), whole %q (%s)", text, finish, whole.Choices[0].Message.Content, whole.Choices[0].FinishReason)
		}
	})

	t.Run("completions", func(t *testing.T) {
		body := func() map[string]any { b := settings(); b["prompt"] = "Once upon a time"; return b }
		var whole struct {
			Choices []struct{ Text, FinishReason string } `json:"choices"`
		}
		f.postOK(t, "/v1/completions", body(), &whole)
		events, done := f.streamEvents(t, "/v1/completions", body())
		if !done {
			t.Fatal("no [DONE] marker")
		}
		text := streamedText(t, events, func(ev json.RawMessage) (string, bool) {
			var c struct {
				Object  string                  `json:"object"`
				Choices []struct{ Text string } `json:"choices"`
			}
			ok := json.Unmarshal(ev, &c) == nil && c.Object == "text_completion" && len(c.Choices) == 1
			return firstText(c.Choices), ok
		})
		if text == "" || text != whole.Choices[0].Text {
			t.Fatalf("streamed %q, whole %q", text, whole.Choices[0].Text)
		}
	})

	t.Run("native", func(t *testing.T) {
		body := func() map[string]any {
			return map[string]any{"prompt": "Once upon a time", "n_predict": 48, "seed": 5, "temperature": 1.2, "ignore_eos": true}
		}
		var whole nativeReply
		f.postOK(t, "/completion", body(), &whole)
		events, done := f.streamEvents(t, "/completion", body())
		if done {
			t.Fatal("the native stream sent OpenAI's [DONE] marker")
		}
		var last nativeReply
		var slots []int
		text := streamedText(t, events, func(ev json.RawMessage) (string, bool) {
			last = nativeReply{IDSlot: -1} // a chunk without id_slot keeps -1 and fails below
			ok := json.Unmarshal(ev, &last) == nil
			slots = append(slots, last.IDSlot)
			return last.Content, ok
		})
		if !last.Stop || last.StopType != whole.StopType || last.TokensPredicted != whole.TokensPredicted {
			t.Fatalf("last event %+v, whole %+v", last, whole)
		}
		// llama-server names the generating slot in every chunk, not only in the last.
		for i, slot := range slots {
			if slot < 0 || slot >= testParallel || slot != last.IDSlot {
				t.Fatalf("chunk %d has id_slot %d; every chunk should name the slot %d", i, slot, last.IDSlot)
			}
		}
		if text == "" || text != whole.Content {
			t.Fatalf("streamed %q, whole %q", text, whole.Content)
		}
	})
}

func firstText(choices []struct{ Text string }) string {
	if len(choices) == 0 {
		return ""
	}
	return choices[0].Text
}

func TestMaxTokensEndsWithLength(t *testing.T) {
	f := runnerFor(t, false)
	var r nativeReply
	f.postOK(t, "/completion", map[string]any{"prompt": "count", "n_predict": 7, "ignore_eos": true}, &r)
	if r.TokensPredicted != 7 || r.StopType != stopTypeLimit || !r.Stop {
		t.Fatalf("reply %+v, want 7 tokens and stop_type limit", r)
	}
}

// A stop string taken from a greedy reply must cut the same reply just before it, streamed or not.
func TestStopStringEndsWithStop(t *testing.T) {
	f := runnerFor(t, false)
	base := func() map[string]any {
		return map[string]any{"prompt": "The", "n_predict": 60, "temperature": 0, "ignore_eos": true}
	}
	var free nativeReply
	f.postOK(t, "/completion", base(), &free)
	runes := []rune(free.Content)
	if len(runes) < 20 {
		t.Fatalf("greedy reply too short to pick a stop string from: %q", free.Content)
	}
	stop := string(runes[len(runes)/2 : len(runes)/2+3])
	want := free.Content[:strings.Index(free.Content, stop)]

	body := base()
	body["stop"] = []string{"never appears \u2603", stop}
	var cut nativeReply
	f.postOK(t, "/completion", body, &cut)
	if cut.Content != want || cut.StopType != stopTypeWord || cut.StoppingWord != stop {
		t.Fatalf("with stop %q: %+v, want content %q", stop, cut, want)
	}

	chat := chatBody("x", map[string]any{"temperature": 0, "ignore_eos": true, "max_tokens": 60})
	var freeChat chatReply
	f.postOK(t, "/v1/chat/completions", chat, &freeChat)
	reply := []rune(freeChat.Choices[0].Message.Content)
	if len(reply) < 20 {
		t.Fatalf("greedy chat reply too short: %q", string(reply))
	}
	chatStop := string(reply[len(reply)/2 : len(reply)/2+2])
	chat["stop"] = chatStop
	events, _ := f.streamEvents(t, "/v1/chat/completions", chat)
	finish := ""
	text := streamedText(t, events, func(ev json.RawMessage) (string, bool) {
		var c struct {
			Choices []struct {
				Delta        struct{ Content string } `json:"delta"`
				FinishReason *string                  `json:"finish_reason"`
			} `json:"choices"`
		}
		if json.Unmarshal(ev, &c) != nil || len(c.Choices) != 1 {
			return "", false
		}
		if c.Choices[0].FinishReason != nil {
			finish = *c.Choices[0].FinishReason
		}
		return c.Choices[0].Delta.Content, true
	})
	full := string(reply)
	if wantChat := full[:strings.Index(full, chatStop)]; text != wantChat || finish != finishStop {
		t.Fatalf("streamed %q (finish %q), want %q (stop)", text, finish, wantChat)
	}
	if !utf8.ValidString(text) {
		t.Fatalf("invalid UTF-8 in %q", text)
	}
}

func TestSlotReusesTheCommonPromptPrefix(t *testing.T) {
	f := runnerFor(t, false)
	prompt := "A fairly long prompt that the second request repeats word for word, to be served from the cache."
	body := map[string]any{"prompt": prompt, "n_predict": 4, "temperature": 0}
	var first, second nativeReply
	f.postOK(t, "/completion", body, &first)
	f.postOK(t, "/completion", body, &second)
	if second.TokensEvaluated != first.TokensEvaluated || second.TokensEvaluated < 5 {
		t.Fatalf("prompt lengths %d and %d", first.TokensEvaluated, second.TokensEvaluated)
	}
	if second.Timings.CacheN != second.TokensEvaluated-1 || second.Timings.PromptN != 1 {
		t.Fatalf("second request: cache_n %d prompt_n %d, want %d reused and 1 evaluated",
			second.Timings.CacheN, second.Timings.PromptN, second.TokensEvaluated-1)
	}
	if second.Content != first.Content {
		t.Fatalf("greedy replies differ with a reused prefix: %q vs %q", first.Content, second.Content)
	}
}
