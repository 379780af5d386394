package runner

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// liveChat is a streamed chat completion the test reads chunk by chunk.
type liveChat struct {
	resp   *http.Response
	reader *bufio.Reader
}

func startLiveChat(t *testing.T, f *fixture, extra map[string]any) *liveChat {
	t.Helper()
	body, _ := json.Marshal(chatBody("hello there", extra))
	resp, err := http.Post(f.base+"/v1/chat/completions", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the streamed chat answered %d", resp.StatusCode)
	}
	return &liveChat{resp: resp, reader: bufio.NewReader(resp.Body)}
}

// chunk is the stream's next chunk; nil at its end.
type liveChunk struct {
	ID      string `json:"id"`
	Choices []struct {
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
		} `json:"delta"`
	} `json:"choices"`
}

func (c *liveChat) next(t *testing.T) *liveChunk {
	t.Helper()
	for {
		line, err := c.reader.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream broke: %v", err)
		}
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			return nil
		}
		var ch liveChunk
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		return &ch
	}
}

func (f *fixture) control(t *testing.T, body string) (int, controlResult) {
	t.Helper()
	resp, err := http.Post(f.base+"/v1/chat/completions/control", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res controlResult
	_ = json.NewDecoder(resp.Body).Decode(&res)
	return resp.StatusCode, res
}

// A random model never closes its reasoning: only the control route can end it before max_tokens.
func TestControlEndsTheReasoningOfARunningCompletion(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	chat := startLiveChat(t, f, map[string]any{"stream": true, "reasoning_control": true, "max_tokens": 3000, "ignore_eos": true})
	var id string
	for id == "" {
		ch := chat.next(t)
		if ch == nil {
			t.Fatal("the stream ended before its first reasoning")
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.ReasoningContent != "" {
			id = ch.ID
		}
	}
	if status, res := f.control(t, `{"id":"`+id+`","action":"reasoning_end"}`); status != http.StatusOK || !res.Success {
		t.Fatalf("control: %d %+v, want 200 and success", status, res)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ch := chat.next(t)
		if ch == nil {
			t.Fatal("the stream ended all reasoning: the control did not end it")
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
			return
		}
	}
	t.Fatal("no content within 30s of the control")
}

func TestControlAnswersWhatItCannotActOn(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	for body, want := range map[string]string{
		`{"action":"reasoning_end"}`:          "missing completion id",
		`{"id":"chatcmpl-x","action":"stop"}`: "unknown control action",
		`{"id":5}`:                            "invalid type for",
	} {
		status, raw := f.post(t, "/v1/chat/completions/control", json.RawMessage(body))
		if status != http.StatusBadRequest || !strings.Contains(string(raw), want) {
			t.Errorf("control %s: %d %s, want 400 saying %s", body, status, raw, want)
		}
	}
	if status, res := f.control(t, `{"id":"chatcmpl-none","action":"reasoning_end"}`); status != http.StatusOK || res.Success ||
		res.Message != "no active completion for this id" {
		t.Errorf("control of an unknown completion: %d %+v", status, res)
	}
	chat := startLiveChat(t, f, map[string]any{"stream": true, "max_tokens": 3000, "ignore_eos": true})
	ch := chat.next(t)
	if ch == nil {
		t.Fatal("the stream ended at once")
	}
	if status, res := f.control(t, `{"id":"`+ch.ID+`","action":"reasoning_end"}`); status != http.StatusOK || res.Success ||
		res.Message != "reasoning control not enabled for this completion" {
		t.Errorf("control of a completion without reasoning_control: %d %+v", status, res)
	}
}
