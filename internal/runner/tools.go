package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"custos/internal/chattemplate"
	"custos/internal/llama"
	"custos/internal/toolcall"
)

// finishToolCalls is the finish reason of a reply that calls tools.
const finishToolCalls = "tool_calls"

// templateFields are the chat request's fields for the chat template and tool calling.
type templateFields struct {
	Tools               []toolSpec                 `json:"tools"`
	ToolChoice          toolChoice                 `json:"tool_choice"`
	ParallelToolCalls   *bool                      `json:"parallel_tool_calls"`
	AddGenerationPrompt *bool                      `json:"add_generation_prompt"`
	ChatTemplateKwargs  map[string]json.RawMessage `json:"chat_template_kwargs"`
	// ReasoningEffort is given to the template as reasoning_effort; "none" turns enable_thinking off.
	ReasoningEffort string `json:"reasoning_effort"`
	// ReasoningFormat says whether a thinking model's reasoning goes to reasoning_content ("none": it
	// stays in the content); nil is the server's --reasoning-format.
	ReasoningFormat *string `json:"reasoning_format"`
	// ParseToolCalls false leaves tool calls in the reply's text (llama-server's parse_tool_calls).
	ParseToolCalls *bool `json:"parse_tool_calls"`
	// Functions and FunctionCall are OpenAI's deprecated forms of tools and tool_choice, refused by name.
	Functions    json.RawMessage `json:"functions"`
	FunctionCall json.RawMessage `json:"function_call"`
}

// templateKwargs are the template's extra variables: chat_template_kwargs and reasoning_effort.
func (f *templateFields) templateKwargs() map[string]json.RawMessage {
	if f.ReasoningEffort == "" || f.ReasoningEffort == "none" {
		return f.ChatTemplateKwargs
	}
	kw := make(map[string]json.RawMessage, len(f.ChatTemplateKwargs)+1)
	for k, v := range f.ChatTemplateKwargs {
		kw[k] = v
	}
	effort, _ := json.Marshal(f.ReasoningEffort)
	kw["reasoning_effort"] = effort
	return kw
}

// addGenerationPrompt is the request's add_generation_prompt (default true, as llama-server).
func (f *templateFields) addGenerationPrompt() bool {
	return f.AddGenerationPrompt == nil || *f.AddGenerationPrompt
}

// toolSpec is one entry of "tools": {"type":"function","function":{"name","description","parameters"}}.
type toolSpec struct {
	Type     string        `json:"type"`
	Function *toolFunction `json:"function"`
}

// toolFunction is a function tool's declaration.
type toolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// functionTool is the chat tool for a function another API declares in its own shape.
func functionTool(name, description string, parameters json.RawMessage) toolSpec {
	return toolSpec{Type: "function", Function: &toolFunction{Name: name, Description: description, Parameters: parameters}}
}

// toolChoice is "tool_choice": "none", "auto", "required", or {"type":"function","function":{"name":...}}.
type toolChoice struct {
	mode string // "auto" when not given
	name string // the function a named choice forces
}

func (c *toolChoice) UnmarshalJSON(b []byte) error {
	var mode string
	if json.Unmarshal(b, &mode) == nil {
		switch mode {
		case "none", "auto", "required":
			*c = toolChoice{mode: mode}
			return nil
		}
		return &fieldError{"tool_choice", fmt.Sprintf("%q is not one of \"none\", \"auto\", \"required\"", mode)}
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &named); err != nil || named.Type != "function" || named.Function.Name == "" {
		return &fieldError{"tool_choice", `expected "none", "auto", "required" or {"type":"function","function":{"name":...}}`}
	}
	*c = toolChoice{mode: "function", name: named.Function.Name}
	return nil
}

// messageToolCall is one entry of an assistant message's "tool_calls".
type messageToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string        `json:"name"`
		Arguments toolArguments `json:"arguments"`
	} `json:"function"`
}

// callOf is the chat history's form of a call another API sends back in its own shape.
func callOf(id, name, arguments string) messageToolCall {
	c := messageToolCall{ID: id, Type: "function"}
	c.Function.Name, c.Function.Arguments = name, toolArguments(arguments)
	return c
}

// toolArguments is a call's arguments: a JSON string holding an object, as OpenAI sends them, or the
// object itself, as some clients do.
type toolArguments string

func (a *toolArguments) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = toolArguments(s)
		return nil
	}
	var compact bytes.Buffer
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) || json.Compact(&compact, b) != nil {
		return &fieldError{"tool_calls[].function.arguments", "expected a JSON object or a string holding one"}
	}
	*a = toolArguments(compact.String())
	return nil
}

// templateTools converts the request's tools for the chat template.
func templateTools(in []toolSpec) []chattemplate.Tool {
	out := make([]chattemplate.Tool, 0, len(in))
	for _, t := range in {
		if t.Function != nil {
			out = append(out, chattemplate.Tool{Name: t.Function.Name, Description: t.Function.Description,
				Parameters: t.Function.Parameters})
		}
	}
	return out
}

// replyFormat is how the model's reply to a chat request is read: as plain content, or as content and
// tool calls in the template's format.
type replyFormat struct {
	family toolcall.Family
	// tools are the offered tools, whose schemas type the arguments of the XML family's calls.
	tools []toolcall.Tool
	// prefill opens a tool call at the end of the prompt (tool_choice "required" or a named function); the
	// reply continues it.
	prefill string
	// grammar, with prefill the family's opening marker, makes the reply a well-formed call of the
	// required tools (GBNF of toolcall.CallSchema); "" when the tools' schemas are beyond the grammar
	// converter, and the prefill then holds the call's first characters instead. Under tool_choice "auto"
	// it is the grammar of the calls from the family's trigger on (toolcall.LazyGrammar).
	grammar string
	// triggers are the words from which grammar applies under tool_choice "auto" (a lazy grammar, as
	// llama-server's); nil when grammar applies from the start.
	triggers []string
	// parallel keeps every call the model writes; false keeps the first.
	parallel bool
	// thinking reads a thinking template's reasoning out of the reply before its calls; nil for other
	// templates, and when the reply must be a call or continues a message it does not repeat.
	thinking *thinkingReply
	// continued is the text of the final assistant message a chat reply continues and starts with, when
	// thinking does not already read it.
	continued string
}

// replyFormat checks the request's tool fields against the model's template and says how to read the reply.
func (f *chatFormat) replyFormat(req *chatRequest) (*replyFormat, *apiError) {
	for _, deprecated := range []struct {
		name  string
		given json.RawMessage
		use   string
	}{{"functions", req.Functions, "tools"}, {"function_call", req.FunctionCall, "tool_choice"}} {
		if len(deprecated.given) > 0 && string(deprecated.given) != "null" {
			return nil, badRequest("%q is not supported (OpenAI deprecated it); use %q", deprecated.name, deprecated.use)
		}
	}
	if err := checkTools(req.Tools); err != nil {
		return nil, err
	}
	choice := req.ToolChoice.mode
	if choice == "" {
		choice = "auto"
	}
	if f.jinja == nil && f.jinjaErr == nil {
		// llama-server's messages without --jinja.
		if len(req.Tools) > 0 {
			return nil, badRequest("tools param requires --jinja flag")
		}
		if choice != "auto" {
			return nil, badRequest("tool_choice param requires --jinja flag")
		}
		return &replyFormat{}, nil
	}
	if len(req.Tools) == 0 {
		if choice == "required" || choice == "function" {
			return nil, badRequest("\"tool_choice\" %q needs \"tools\"", choice)
		}
		return &replyFormat{}, nil
	}
	if choice == "none" {
		return &replyFormat{}, nil
	}
	if req.ParseToolCalls != nil && !*req.ParseToolCalls {
		return &replyFormat{}, nil // the calls stay in the text, and nothing opens one
	}
	if f.family == toolcall.None {
		return nil, badRequest("\"tools\": the model's chat template has no tool-call format custos knows " +
			"(it reads Hermes/Qwen <tool_call>, Qwen3-Coder's XML <function=...>, Llama 3.x and Mistral [TOOL_CALLS] calls)")
	}
	r := &replyFormat{family: f.family, tools: callableTools(req.Tools, ""),
		parallel: req.ParallelToolCalls == nil || *req.ParallelToolCalls}
	switch choice {
	case "required":
		r.forceCall(req.Tools, "", req.asksParallelCalls())
	case "function":
		if !hasTool(req.Tools, req.ToolChoice.name) {
			return nil, badRequest("\"tool_choice\" names function %q, which is not in \"tools\"", req.ToolChoice.name)
		}
		r.forceCall(req.Tools, req.ToolChoice.name, req.asksParallelCalls())
	default:
		r.lazyCall(f.parallelCalls(req))
	}
	return r, nil
}

// lazyCall constrains the calls the model may write under tool_choice "auto" as llama-server does: by a
// grammar of calls of the tools that applies once the family's trigger appears, the text before it free;
// parallel says whether the grammar lets one call list several. A family without a trigger (Llama 3.x's
// bare JSON) and tools whose schemas are beyond the grammar converter leave the reply free.
func (r *replyFormat) lazyCall(parallel bool) {
	triggers := toolcall.Triggers(r.family, r.tools)
	if len(triggers) == 0 {
		return
	}
	gbnf, err := toolcall.LazyGrammar(r.family, r.tools, parallel)
	if err != nil || len(gbnf) > llama.MaxGrammarBytes {
		return
	}
	r.grammar, r.triggers = gbnf, triggers
}

// parallelCalls is parallel_tool_calls as llama-server's grammars read it: when the request does not say,
// whether the template can render parallel calls.
func (f *chatFormat) parallelCalls(req *chatRequest) bool {
	if req.ParallelToolCalls != nil {
		return *req.ParallelToolCalls
	}
	return f.jinja != nil && f.jinja.Caps().ParallelToolCalls
}

// asksParallelCalls tells whether the request sets parallel_tool_calls to true. Only then may a forced reply
// hold several calls: llama-server goes by the template when the field is absent, but a model that does not
// end its reply would then write calls until its token limit, where one call is all the client required.
func (req *chatRequest) asksParallelCalls() bool {
	return req.ParallelToolCalls != nil && *req.ParallelToolCalls
}

// callableTools are the tools a call may name: all of them, or the one named.
func callableTools(tools []toolSpec, name string) []toolcall.Tool {
	var allowed []toolcall.Tool
	for _, t := range tools {
		if name == "" || t.Function.Name == name {
			allowed = append(allowed, toolcall.Tool{Name: t.Function.Name, Parameters: t.Function.Parameters})
		}
	}
	return allowed
}

// forceCall makes the reply a call of one of tools (of the one named, if name is given): by a grammar
// when their argument schemas convert to one, else by a prefill of the call's first characters, which
// forces the format but not the arguments. parallel says whether the grammar lets the reply hold several
// calls.
func (r *replyFormat) forceCall(tools []toolSpec, name string, parallel bool) {
	g, err := toolcall.ForcedGrammar(r.family, callableTools(tools, name), parallel)
	if err == nil && len(g) <= llama.MaxGrammarBytes {
		r.grammar, r.prefill = g, toolcall.Opening(r.family)
		return
	}
	r.grammar, r.prefill = "", toolcall.Prefill(r.family, name)
}

// forced reports whether the reply must be a tool call (tool_choice "required" or a named function).
func (r *replyFormat) forced() bool { return r.prefill != "" || (r.grammar != "" && r.triggers == nil) }

// constrainToolCall puts the grammar of the calls on the sampler: from the start for a required call, from
// the trigger on under "auto", held back while a thinking reply reasons, as llama-server holds it (a
// trigger in the reasoning starts no call). A client that also constrains the output (grammar,
// json_schema, response_format) while tools are on asks for two formats at once.
func (e *engine) constrainToolCall(p *genParams, r *replyFormat) *apiError {
	if r.family != toolcall.None && p.sampler.Grammar != nil {
		// As llama-server: the tool-call format and the client's grammar would both decide the output.
		return badRequest("\"grammar\", \"json_schema\", \"response_format\" and \"text.format\" cannot be combined with " +
			"\"tools\" unless \"tool_choice\" is \"none\"")
	}
	p.preserved = e.preservedTokens(toolcall.Preserved(r.family))
	if r.grammar == "" {
		return nil
	}
	if r.triggers != nil {
		g, err := llama.ParseLazyGrammar(e.model, r.grammar, r.triggers)
		if err != nil {
			return serverError(fmt.Errorf("the grammar of the tool calls: %w", err))
		}
		if r.thinking != nil {
			tags, err := e.reasoningTags(r.thinking)
			if err != nil {
				return serverError(err)
			}
			g = g.HeldWhileReasoning(tags)
		}
		p.sampler.Grammar = g
		return nil
	}
	g, err := llama.ParseGrammar(e.model, r.grammar)
	if err != nil {
		return serverError(fmt.Errorf("the grammar of the required tool call: %w", err))
	}
	p.sampler.Grammar = g
	return nil
}

// preservedTokens are the markers that are one control token of the vocabulary (llama-server keeps only
// its preserved tokens that are one token; others the reply writes out anyway); nil when there are none.
func (e *engine) preservedTokens(markers []string) map[llama.Token]bool {
	var out map[llama.Token]bool
	for _, m := range markers {
		toks, err := e.model.Tokenize(m, false, true)
		if err != nil || len(toks) != 1 || len(e.model.TokenPiece(toks[0])) > 0 {
			continue // not one token, or one the reply writes out anyway
		}
		if out == nil {
			out = map[llama.Token]bool{}
		}
		out[toks[0]] = true
	}
	return out
}

// reasoningTags are a thinking reply's markers as tokens, as llama-server gives them to its reasoning-budget
// sampler: without their surrounding whitespace, and the part of the generation prompt from the start
// marker on, which may have opened the reasoning.
func (e *engine) reasoningTags(r *thinkingReply) (llama.ReasoningTags, error) {
	var tags llama.ReasoningTags
	var err error
	if tags.Start, err = e.model.Tokenize(strings.TrimSpace(r.tags.start), false, true); err != nil {
		return tags, err
	}
	end, err := e.model.Tokenize(strings.TrimSpace(r.tags.end), false, true)
	if err != nil {
		return tags, err
	}
	tags.Ends = [][]llama.Token{end}
	if r.callOpens != "" {
		// The call's marker ends the reasoning too, and is replayed into the grammar, which it triggers.
		opens, err := e.model.Tokenize(r.callOpens, false, true)
		if err != nil {
			return tags, err
		}
		tags.Ends = append(tags.Ends, opens)
	}
	tags.Prompt, err = e.model.Tokenize(r.opened, false, true)
	return tags, err
}

func checkTools(tools []toolSpec) *apiError {
	for i, t := range tools {
		if t.Type != "function" {
			return badRequest("\"tools[%d].type\": %q is not supported (only \"function\")", i, t.Type)
		}
		if t.Function == nil || t.Function.Name == "" {
			return badRequest("\"tools[%d].function.name\" is required", i)
		}
	}
	return nil
}

func hasTool(tools []toolSpec, name string) bool {
	for _, t := range tools {
		if t.Function != nil && t.Function.Name == name {
			return true
		}
	}
	return false
}

// read splits the model's whole output into its content and the calls kept, each with an id: the reply
// every endpoint translates to its own shape. A reply that does not hold a well-formed call is all content,
// the prefill included: it is the start of the assistant's turn.
func (r *replyFormat) read(text string) toolcall.Message {
	if r.family == toolcall.None {
		return toolcall.Message{Content: text}
	}
	parsed := toolcall.Parse(r.family, r.tools, r.prefill+text)
	parsed.Calls = r.keep(parsed.Calls)
	return parsed
}

// callsFinish is the finish reason of a reply with calls: "tool_calls" when it called a tool and stopped
// by itself, as llama-server.
func callsFinish(calls []toolcall.Call, finish string) string {
	if len(calls) > 0 && finish == finishStop {
		return finishToolCalls
	}
	return finish
}

// answer reads the model's whole output: a thinking template's reasoning first, then the content and the
// calls in what follows it.
func (r *replyFormat) answer(text string) (reasoning string, parsed toolcall.Message) {
	text = r.continued + text
	if r.thinking != nil {
		reasoning, text = r.thinking.split(text)
	}
	return reasoning, r.read(text)
}

// message reads the model's whole output into the chat reply message, and the finish reason.
func (r *replyFormat) message(text, finish string) (map[string]any, string) {
	reasoning, parsed := r.answer(text)
	msg := map[string]any{"role": "assistant", "content": parsed.Content}
	if reasoning != "" {
		msg["reasoning_content"] = reasoning
	}
	if len(parsed.Calls) > 0 {
		msg["tool_calls"] = callsJSON(parsed.Calls, false)
	}
	return msg, callsFinish(parsed.Calls, finish)
}

// keep applies parallel_tool_calls and gives each call the model wrote without an id one.
func (r *replyFormat) keep(calls []toolcall.Call) []toolcall.Call {
	if !r.parallel && len(calls) > 1 {
		calls = calls[:1]
	}
	for i := range calls {
		if calls[i].ID == "" {
			calls[i].ID = toolcall.NewCallID(r.family)
		}
	}
	return calls
}

// callsJSON is calls in OpenAI's chat shape; a stream's deltas also carry each call's index.
func callsJSON(calls []toolcall.Call, indexed bool) []map[string]any {
	out := make([]map[string]any, len(calls))
	for i, c := range calls {
		out[i] = map[string]any{"id": c.ID, "type": "function",
			"function": map[string]any{"name": c.Name, "arguments": c.Arguments}}
		if indexed {
			out[i]["index"] = i
		}
	}
	return out
}

// replyStream reads a streamed reply: reasoning and content as they come, calls once the reply is
// complete. A thinking reply is split anew as each piece arrives (as llama-server parses it), and what
// each part gained is sent.
type replyStream struct {
	format   *replyFormat
	streamer *toolcall.Streamer
	// text is the whole reply so far, and sentReasoning and fedContent how much of its reasoning and of
	// its content have gone out; for thinking replies. Once content has begun, the rest of the reply is
	// content (past the reasoning and the whitespace after it), so it is not split again.
	text                      strings.Builder
	sentReasoning, fedContent int
	inContent                 bool
	// lead is the continued message's text, sent with the first piece of the reply.
	lead string
}

func (r *replyFormat) stream() *replyStream {
	s := &replyStream{format: r, lead: r.continued}
	if r.family != toolcall.None {
		s.streamer = toolcall.NewStreamer(r.family, r.tools)
		s.streamer.Feed(r.prefill)
	}
	return s
}

// feedEvents feeds generated text and returns a typed stream's events for it: those reasoningEvents makes
// of the reasoning to send now, then those contentEvents makes of the content.
func (s *replyStream) feedEvents(text string, reasoningEvents, contentEvents func(string) []sseEvent) []sseEvent {
	reasoning, content := s.feed(text)
	var evs []sseEvent
	if reasoning != "" {
		evs = reasoningEvents(reasoning)
	}
	if content != "" {
		evs = append(evs, contentEvents(content)...)
	}
	return evs
}

// feed takes generated text and returns the reasoning and the content to send now.
func (s *replyStream) feed(text string) (reasoning, content string) {
	text, s.lead = s.lead+text, ""
	if s.format.thinking != nil {
		reasoning, text = s.advance(text)
	}
	if s.streamer == nil {
		return reasoning, text
	}
	return reasoning, s.streamer.Feed(text)
}

// advance adds text to a thinking reply and returns what its reasoning and its content gained.
func (s *replyStream) advance(text string) (reasoning, content string) {
	if s.inContent {
		return "", text
	}
	s.text.WriteString(text)
	r, c := s.format.thinking.split(s.text.String())
	if len(r) > s.sentReasoning {
		reasoning, s.sentReasoning = r[s.sentReasoning:], len(r)
	}
	if len(c) > s.fedContent {
		content, s.fedContent = c[s.fedContent:], len(c)
	}
	s.inContent = c != ""
	return reasoning, content
}

// finish returns the content still held back and the calls kept, with their ids.
func (s *replyStream) finish() (rest string, calls []toolcall.Call) {
	if s.streamer == nil {
		return "", nil
	}
	msg, rest := s.streamer.Finish()
	return rest, s.format.keep(msg.Calls)
}
