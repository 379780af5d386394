package gateway

import (
	"bytes"
	"encoding/json"
	"strings"

	"custos/internal/apierror"
)

// route is one inference endpoint: a POST whose body names the model that
// must answer it. Every route goes the same way (readiness gate, pause,
// the model's line, placement, retries, fallback); what differs is how
// the answer and custos's own errors are shaped for its clients.
type route struct {
	path  string
	label string // the route label of the metrics
	// modelField is the top-level body field naming the model. A body
	// without it is refused with 400 missing_model, on every route alike:
	// a gateway in front of many models cannot guess one.
	modelField string
	api        api
}

// api is the family of clients a route serves: it decides the shape of
// the errors custos writes itself, in an answer or ending a stream.
type api uint8

const (
	// openAI: {"error":{...}}, and a stream ends with a data-only error event.
	openAI api = iota
	// responses: OpenAI's envelope; a stream ends with an "event: error"
	// whose data is the Responses API's error event.
	responses
	// anthropic: Anthropic's envelope {"type":"error","error":{...}}, also
	// in the stream's "event: error".
	anthropic
)

// routes are the inference endpoints, with llama-server's aliases (the
// release custos supervises, tools/server/server.cpp): every POST route of
// it whose answer depends on the model. /tokenize, /detokenize and
// /apply-template are among them: they answer from the model's vocabulary
// and chat template, so only a backend serving the model can answer, and
// llama-server's own router sends them by "model" too. Not routed:
// /v1/audio/transcriptions (a multipart body, which the gateway does not
// parse, for models with an audio projector custos does not configure),
// /v1/chat/completions/control (it acts on a running completion by its id,
// which would wait in line behind that very completion), and the
// per-process routes (/props, /slots, /lora-adapters, /metrics). The
// resumable streams' routes (/v1/stream, /v1/streams/lookup) the gateway
// serves itself (streams.go).
var routes = []route{
	{"/v1/chat/completions", "chat", "model", openAI},
	{"/chat/completions", "chat", "model", openAI},
	{"/v1/completions", "completions", "model", openAI},
	{"/completions", "completions", "model", openAI},
	{"/completion", "completions", "model", openAI},
	{"/v1/embeddings", "embeddings", "model", openAI},
	{"/embeddings", "embeddings", "model", openAI},
	{"/embedding", "embeddings", "model", openAI},
	{"/infill", "infill", "model", openAI},
	{"/v1/rerank", "rerank", "model", openAI},
	{"/v1/reranking", "rerank", "model", openAI},
	{"/rerank", "rerank", "model", openAI},
	{"/reranking", "rerank", "model", openAI},
	{"/v1/responses", "responses", "model", responses},
	{"/responses", "responses", "model", responses},
	{"/v1/messages", "messages", "model", anthropic},
	{"/v1/messages/count_tokens", "count_tokens", "model", anthropic},
	{"/v1/chat/completions/input_tokens", "input_tokens", "model", openAI},
	{"/chat/completions/input_tokens", "input_tokens", "model", openAI},
	{"/v1/responses/input_tokens", "input_tokens", "model", responses},
	{"/responses/input_tokens", "input_tokens", "model", responses},
	{"/tokenize", "tokenize", "model", openAI},
	{"/detokenize", "detokenize", "model", openAI},
	{"/apply-template", "apply_template", "model", openAI},
}

// RootPaths are the inference routes outside /v1 (llama-server's own
// names), which the server mounts on the gateway's handler beside /v1/.
func RootPaths() []string {
	var paths []string
	for _, rt := range routes {
		if !strings.HasPrefix(rt.path, "/v1/") {
			paths = append(paths, rt.path)
		}
	}
	return paths
}

// routeLabels are the metrics labels, each once.
func routeLabels() []string {
	var labels []string
	seen := map[string]bool{}
	for _, rt := range routes {
		if !seen[rt.label] {
			seen[rt.label] = true
			labels = append(labels, rt.label)
		}
	}
	return labels
}

// envelope is the shape of custos's own error answers on the route.
func (rt *route) envelope() apierror.Envelope {
	if rt.api == anthropic {
		return apierror.Anthropic
	}
	return apierror.OpenAI
}

// streamError is the event that ends a stream the upstream broke, as the
// route's clients parse one.
func (rt *route) streamError(e apierror.Error) []byte {
	var b bytes.Buffer
	switch rt.api {
	case anthropic:
		b.WriteString("event: error\ndata: ")
		b.Write(bytes.TrimSuffix(e.JSONIn(apierror.Anthropic), []byte("\n")))
	case responses:
		// The Responses API's error event, carrying OpenAI's envelope too,
		// which OpenAI's SDKs look for in an "error" event.
		type inner struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    string `json:"code"`
		}
		data, _ := json.Marshal(struct {
			Type    string  `json:"type"`
			Code    string  `json:"code"`
			Message string  `json:"message"`
			Param   *string `json:"param"`
			Error   inner   `json:"error"`
		}{"error", e.Code, e.Message, nil, inner{e.Message, e.Type, e.Code}})
		b.WriteString("event: error\ndata: ")
		b.Write(data)
	default:
		b.WriteString("data: ")
		b.Write(bytes.TrimSuffix(e.JSON(), []byte("\n")))
	}
	b.WriteString("\n\n")
	return b.Bytes()
}
