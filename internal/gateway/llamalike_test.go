package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// llamaLike answers every inference route as llama-server of the release
// custos supervises does (tools/server), in shape only: JSON with its keys
// sorted, naming the model by the file it loaded (backendPath), and
// streams as it frames them — data-only events ending in [DONE] for the
// OpenAI routes, "event:" lines for /v1/messages and /v1/responses. It
// sends each request's path on paths when paths is not nil.
func llamaLike(paths chan<- string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		if paths != nil {
			paths <- r.URL.Path
		}
		m := `"` + backendPath + `"`
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			rc := http.NewResponseController(w)
			for _, ev := range llamaLikeEvents(r.URL.Path, m) {
				fmt.Fprint(w, ev)
				_ = rc.Flush()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		var answer string
		switch r.URL.Path {
		case "/v1/messages":
			answer = `{"content":[{"text":"hi","type":"text"}],"id":"msg_1","model":` + m + `,"role":"assistant","stop_reason":"end_turn","type":"message"}`
		case "/v1/messages/count_tokens":
			answer = `{"input_tokens":3}`
		case "/v1/responses", "/responses":
			answer = `{"id":"resp_1","model":` + m + `,"object":"response","output":[],"status":"completed"}`
		case "/tokenize":
			answer = `{"tokens":[1,2,3]}`
		case "/detokenize":
			answer = `{"content":"hi"}`
		case "/apply-template":
			answer = `{"prompt":"<|user|>hi"}`
		case "/v1/embeddings", "/embeddings", "/embedding":
			answer = `{"data":[{"embedding":[0.1,0.2],"index":0,"object":"embedding"}],"model":` + m + `,"object":"list","usage":{"prompt_tokens":1,"total_tokens":1}}`
		case "/v1/rerank", "/v1/reranking", "/rerank", "/reranking":
			answer = `{"model":` + m + `,"object":"list","results":[{"index":0,"relevance_score":0.5}],"usage":{"prompt_tokens":1,"total_tokens":1}}`
		default:
			answer = `{"choices":[{"index":0,"message":{"content":"read ` + backendPath + `","role":"assistant"}}],"created":1,"id":"c1","model":` + m + `,"object":"chat.completion","system_fingerprint":"` + backendPath + `"}`
		}
		_, _ = io.WriteString(w, answer)
	}
}

// llamaLikeEvents is a short stream of the route's events.
func llamaLikeEvents(path, m string) []string {
	switch path {
	case "/v1/messages":
		return []string{
			"event: message_start\ndata: {\"message\":{\"content\":[],\"id\":\"msg_1\",\"model\":" + m + ",\"role\":\"assistant\",\"type\":\"message\"},\"type\":\"message_start\"}\n\n",
			"event: content_block_delta\ndata: {\"delta\":{\"text\":\"hi\",\"type\":\"text_delta\"},\"index\":0,\"type\":\"content_block_delta\"}\n\n",
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		}
	case "/v1/responses", "/responses":
		return []string{
			"event: response.created\ndata: {\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\"},\"type\":\"response.created\"}\n\n",
			"event: response.output_text.delta\ndata: {\"delta\":\"hi\",\"type\":\"response.output_text.delta\"}\n\n",
			"event: response.completed\ndata: {\"response\":{\"id\":\"resp_1\",\"model\":" + m + ",\"object\":\"response\",\"status\":\"completed\"},\"type\":\"response.completed\"}\n\n",
		}
	}
	return []string{
		"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"index\":0}],\"created\":1,\"id\":\"c1\",\"model\":" + m + ",\"object\":\"chat.completion.chunk\"}\n\n",
		"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"index\":0}],\"created\":1,\"id\":\"c1\",\"model\":" + m + ",\"object\":\"chat.completion.chunk\"}\n\n",
		"data: [DONE]\n\n",
	}
}

// namesPath reports whether s names the backend's file path as a model.
func namesPath(s string) bool { return strings.Contains(s, `"model":"`+backendPath+`"`) }
