package standin

import (
	"encoding/json"
	"strings"
	"testing"
)

// Each route streams in its llama-server framing: the chat opens with a chunk holding only the role and
// closes with an empty delta carrying the finish reason; a text completion closes with empty text; the native
// /completion sends token-carrying chunks and a closing object with stop true, and no [DONE].
func TestStreamsAreFramedAsLlamaServersRoutes(t *testing.T) {
	url, _ := startInProcess(t, Options{StreamChunks: 5})
	for _, c := range []struct {
		path, body string
		check      func(events []map[string]any) string
		wantDone   bool
	}{
		{"/v1/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"a b c"}]}`, checkChatFraming, true},
		{"/v1/completions", `{"stream":true,"prompt":"a b c d"}`, checkTextFraming, true},
		{"/completion", `{"stream":true,"prompt":"a b c d"}`, checkNativeFraming, false},
	} {
		resp, err := post(t, nil, url+c.path, c.body)
		if err != nil {
			t.Fatal(err)
		}
		if ct, buffering := resp.Header.Get("Content-Type"), resp.Header.Get("X-Accel-Buffering"); ct != "text/event-stream" || buffering != "no" {
			t.Errorf("%s: Content-Type %q, X-Accel-Buffering %q", c.path, ct, buffering)
		}
		raw := readEvents(resp.Body)
		resp.Body.Close()
		done := len(raw) > 0 && raw[len(raw)-1] == "[DONE]"
		if done {
			raw = raw[:len(raw)-1]
		}
		if done != c.wantDone || len(raw) != 5 {
			t.Errorf("%s: %d data events, [DONE] %v; want 5 and %v: %q", c.path, len(raw), done, c.wantDone, raw)
			continue
		}
		events := make([]map[string]any, len(raw))
		for i, ev := range raw {
			if err := json.Unmarshal([]byte(ev), &events[i]); err != nil {
				t.Fatalf("%s: event %d: %v", c.path, i, err)
			}
		}
		if problem := c.check(events); problem != "" {
			t.Errorf("%s: %s: %q", c.path, problem, raw)
		}
	}
}

func choice(ev map[string]any) map[string]any {
	choices, _ := ev["choices"].([]any)
	if len(choices) != 1 {
		return map[string]any{}
	}
	c, _ := choices[0].(map[string]any)
	return c
}

func checkChatFraming(events []map[string]any) string {
	first, _ := choice(events[0])["delta"].(map[string]any)
	if content, ok := first["content"]; first["role"] != "assistant" || !ok || content != nil {
		return "the first chunk must hold the role alone, content null"
	}
	var text strings.Builder
	for _, ev := range events[1 : len(events)-1] {
		d, _ := choice(ev)["delta"].(map[string]any)
		s, _ := d["content"].(string)
		text.WriteString(s)
		if choice(ev)["finish_reason"] != nil {
			return "a text chunk carries a finish reason"
		}
	}
	last := choice(events[len(events)-1])
	if d, _ := last["delta"].(map[string]any); len(d) != 0 || last["finish_reason"] != "stop" {
		return "the last chunk must have an empty delta and the finish reason"
	}
	if text.String() != "standin reply 3" {
		return "the text chunks make " + text.String()
	}
	return ""
}

func checkTextFraming(events []map[string]any) string {
	var text strings.Builder
	for _, ev := range events[:len(events)-1] {
		s, _ := choice(ev)["text"].(string)
		text.WriteString(s)
	}
	last := choice(events[len(events)-1])
	if last["text"] != "" || last["finish_reason"] != "stop" || events[len(events)-1]["usage"] == nil {
		return "the last chunk must have empty text, the finish reason and the usage"
	}
	if text.String() != "standin reply 4" {
		return "the text chunks make " + text.String()
	}
	return ""
}

func checkNativeFraming(events []map[string]any) string {
	var text strings.Builder
	for _, ev := range events[:len(events)-1] {
		s, _ := ev["content"].(string)
		text.WriteString(s)
		if tokens, _ := ev["tokens"].([]any); ev["stop"] != false || len(tokens) != 1 {
			return "a text chunk must have stop false and one token"
		}
	}
	last := events[len(events)-1]
	if last["stop"] != true || last["content"] != "" || last["stop_type"] == nil || last["timings"] == nil {
		return "the closing object must have stop true, empty content, stop_type and timings"
	}
	if text.String() != "standin reply 4" {
		return "the text chunks make " + text.String()
	}
	return ""
}
