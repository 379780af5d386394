package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"custos/internal/chattemplate"
	"custos/internal/llama"
	"custos/internal/toolcall"
)

// defaultJinjaTemplate is ChatML, which llama-server renders for a model that carries no chat template.
const defaultJinjaTemplate = "{%- for message in messages -%}" +
	"{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}" +
	"{%- endfor -%}" +
	"{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"

// chatFormat is how chat messages become a prompt for one model: its Jinja chat template, as llama-server
// renders it by default, or llama.cpp's built-in formatter (--no-jinja).
type chatFormat struct {
	// jinja is the compiled template; nil with --no-jinja or when it does not compile (jinjaErr).
	jinja    *chattemplate.Template
	jinjaErr error
	// builtin is the template llama.cpp's formatter recognises, used without Jinja.
	builtin string
	// source is the Jinja template's text (the model's, or ChatML when it has none).
	source string
	// developerRole keeps OpenAI's "developer" role for templates that know it (GPT-OSS's, with its
	// <|channel|> markers); other templates get it as "system", as llama-server does.
	developerRole bool
	// family is the template's tool-call format.
	family   toolcall.Family
	bos, eos string
	// thinking is whether the template has a reasoning mode, which enable_thinking turns on by default.
	thinking bool
	// tags are the markers of the template's reasoning, by which replies are read (none: no reasoning to
	// read), and reasoningFormat how replies are read when a request does not say (--reasoning-format).
	tags            thinkingTags
	reasoningFormat string
	// stripBOS and stripEOS drop a bos_token the template writes at the start, or an eos_token at the
	// end, that tokenizing adds anyway (llama-server does the same).
	stripBOS, stripEOS bool
}

// newChatFormat prepares model's chat formatting once, at load.
func newChatFormat(model *llama.Model, useJinja bool, builtin, reasoningFormat string, log *slog.Logger) *chatFormat {
	f := &chatFormat{builtin: builtin, reasoningFormat: reasoningFormat}
	if !useJinja {
		return f
	}
	src := model.ChatTemplate()
	if src == "" {
		src = defaultJinjaTemplate
	}
	f.source = src
	f.developerRole = strings.Contains(src, "<|channel|>")
	f.family = toolcall.Detect(src)
	f.thinking = strings.Contains(src, "<think>")
	f.jinja, f.jinjaErr = chattemplate.Compile(src)
	if f.jinjaErr != nil {
		log.Warn("the model's chat template does not compile: chat requests will fail", "err", f.jinjaErr)
	}
	f.bos, f.eos = model.TokenText(model.BOS()), model.TokenText(model.EOS())
	if toks, err := model.Tokenize("", true, false); err == nil && len(toks) > 0 {
		f.stripBOS = toks[0] == model.BOS()
		f.stripEOS = toks[len(toks)-1] == model.EOS()
	}
	if f.jinja != nil {
		f.tags = detectThinking(func(in chattemplate.Input) (string, error) {
			in.BOSToken, in.EOSToken = f.bos, f.eos
			return f.jinja.Render(in)
		}, src)
	}
	return f
}

// chatPrompt renders a chat request into prompt text, and says how to read the model's reply.
func (e *engine) chatPrompt(req *chatRequest, msgs []llama.ChatMessage) (string, *replyFormat, *apiError) {
	f := e.format
	extract, apiErr := f.extractsReasoning(req)
	if apiErr != nil {
		return "", nil, apiErr
	}
	reply, apiErr := f.replyFormat(req)
	if apiErr != nil {
		return "", nil, apiErr
	}
	if f.jinja == nil && f.jinjaErr == nil {
		text, err := llama.ApplyChatTemplate(f.builtin, msgs, req.addGenerationPrompt())
		if err != nil {
			return "", nil, serverError(err)
		}
		return text, reply, nil
	}
	rendered, apiErr := f.render(req)
	if apiErr != nil {
		return "", nil, apiErr
	}
	continuing := false
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == "assistant" {
		if reply.forced() {
			return "", nil, badRequest("\"tool_choice\" cannot force a tool call when the reply continues the final assistant message")
		}
		continuing = true
	}
	if f.tags.thinks() && reply.forced() && !continuing {
		// A required call comes after the reasoning, as llama-server's grammar has it: the model writes
		// the call's opening itself, past the end marker, instead of finding it prefilled in its reasoning.
		// A call whose tools' schemas have no grammar gets its first characters there, its arguments free.
		thinking := f.tags.replyAfter(rendered.readFrom, rendered.generationPrompt, extract)
		call := reply.grammar
		if call == "" {
			call = "root ::= .*\n"
		}
		if g, ok := afterReasoning(call, thinking, reply.prefill); ok {
			reply.grammar, reply.prefill, reply.thinking = g, "", thinking
		}
	}
	if f.tags.thinks() && !reply.forced() {
		reply.thinking = f.tags.replyAfter(rendered.readFrom, rendered.generationPrompt, extract)
		if opens := toolcall.EndsReasoning(f.family); opens != "" {
			reply.thinking.readAsXMLFamily(opens)
		}
	}
	if reply.thinking == nil || reply.thinking.opened == "" {
		reply.continued = rendered.continued
	}
	return rendered.prompt + reply.prefill, reply, nil
}

// renderedChat is a chat request's prompt and what reading its reply needs.
type renderedChat struct {
	prompt string
	// generationPrompt is the opening of the assistant's turn with the message it continues, if any: what
	// a reasoning budget starts from. Set for thinking templates only, as the rest of these.
	generationPrompt string
	// readFrom is what the reply is read after: the generation prompt when the reply repeats the message
	// it continues, else the opening with the part it continues but none of the message's text.
	readFrom string
	// continued is the text of a repeated message that lies outside a thinking template's markers, which
	// the reply starts with.
	continued string
}

// render runs the Jinja template on the request. A conversation that ends with an assistant message is
// a reply to continue, as in llama-server: the prompt is the conversation before it, the opening of the
// assistant's turn, and that message (see thinkingTags.continuation). A chat reply repeats the message it
// continues, as llama-server's does, unless continue_final_message asked for the continuation outright;
// the Anthropic and Responses routes never repeat it.
func (f *chatFormat) render(req *chatRequest) (renderedChat, *apiError) {
	if f.jinjaErr != nil {
		return renderedChat{}, serverError(f.jinjaErr)
	}
	in := chattemplate.Input{
		Messages:            f.templateMessages(req.Messages),
		Tools:               templateTools(req.Tools),
		AddGenerationPrompt: req.addGenerationPrompt(),
		EnableThinking:      f.thinking && req.ReasoningEffort != "none",
		BOSToken:            f.bos,
		EOSToken:            f.eos,
		Kwargs:              req.templateKwargs(),
	}
	mode, asked, apiErr := req.continueMode(req.AddGenerationPrompt)
	if apiErr != nil {
		return renderedChat{}, apiErr
	}
	last, continuing, apiErr := finalAssistantMessage(in.Messages)
	if apiErr != nil {
		return renderedChat{}, apiErr
	}
	if asked && !continuing {
		return renderedChat{}, badRequest("\"continue_final_message\" needs a conversation that ends with an assistant message")
	}
	if !continuing {
		text, apiErr := f.renderInput(in)
		if apiErr != nil || !f.tags.thinks() || !in.AddGenerationPrompt {
			return renderedChat{prompt: text}, apiErr
		}
		_, opening, apiErr := f.splitGenerationPrompt(in)
		return renderedChat{prompt: text, generationPrompt: opening, readFrom: opening}, apiErr
	}
	in.Messages = in.Messages[:len(in.Messages)-1]
	before, opening, apiErr := f.splitGenerationPrompt(in)
	if apiErr != nil {
		return renderedChat{}, apiErr
	}
	mode = mode.resolve(last)
	turn := f.tags.continuation(opening, last, mode)
	out := renderedChat{prompt: before + turn, generationPrompt: turn, readFrom: turn}
	if asked || !req.repeatContinued {
		// The reply is what the model writes, read from the part of the message it continues.
		out.readFrom = f.tags.continuation(opening, chattemplate.Message{}, mode)
		return out, nil
	}
	if !f.tags.thinks() || f.tags.start == "" {
		out.continued = strings.TrimPrefix(turn, opening)
	}
	return out, nil
}

// splitGenerationPrompt renders in without and with the generation prompt: the conversation, and what
// the generation prompt adds to it.
func (f *chatFormat) splitGenerationPrompt(in chattemplate.Input) (conversation, generationPrompt string, apiErr *apiError) {
	in.AddGenerationPrompt = false
	before, apiErr := f.renderInput(in)
	if apiErr != nil {
		return "", "", apiErr
	}
	in.AddGenerationPrompt = true
	opened, apiErr := f.renderInput(in)
	if apiErr != nil {
		return "", "", apiErr
	}
	return before, opened[len(sharedStart(before, opened)):], nil
}

// finalAssistantMessage is the conversation's last message when it is an assistant's reply to continue.
func finalAssistantMessage(msgs []chattemplate.Message) (chattemplate.Message, bool, *apiError) {
	n := len(msgs)
	if n == 0 || msgs[n-1].Role != "assistant" {
		return chattemplate.Message{}, false, nil
	}
	if n >= 2 && msgs[n-2].Role == "assistant" {
		return chattemplate.Message{}, false, badRequest("Cannot have 2 or more assistant messages at the end of the list.")
	}
	if len(msgs[n-1].ToolCalls) > 0 {
		return chattemplate.Message{}, false, badRequest("Cannot continue an assistant message that contains tool calls.")
	}
	return msgs[n-1], true, nil
}

// renderInput renders in, telling the client's errors from the template's.
func (f *chatFormat) renderInput(in chattemplate.Input) (string, *apiError) {
	text, err := f.jinja.Render(in)
	var raised *chattemplate.RaisedError
	var bad *chattemplate.InputError
	switch {
	case errors.As(err, &raised):
		// The template refused these messages (roles out of order, say): the client's to fix, and a 400 in
		// llama-server too.
		return "", badRequest("%s", raised.Error())
	case errors.As(err, &bad):
		return "", badRequest("%s", bad.Error())
	case err != nil:
		return "", &apiError{Status: http.StatusInternalServerError, Type: typeServer,
			Message: fmt.Sprintf("the model's %v", err)}
	}
	if f.stripBOS && f.bos != "" {
		text = strings.TrimPrefix(text, f.bos)
	}
	if f.stripEOS && f.eos != "" {
		text = strings.TrimSuffix(text, f.eos)
	}
	return text, nil
}

// templateSource is the chat template /props reports: the Jinja template when Jinja renders chat, else
// the one llama.cpp's formatter uses.
func (f *chatFormat) templateSource() string {
	if f.source != "" {
		return f.source
	}
	return f.builtin
}

// templateMessages converts the request's messages for the chat template.
func (f *chatFormat) templateMessages(in []chatMessage) []chattemplate.Message {
	out := make([]chattemplate.Message, len(in))
	for i, m := range in {
		role := m.Role
		if role == "developer" && !f.developerRole {
			role = "system"
		}
		out[i] = chattemplate.Message{Role: role, Content: string(m.Content), ReasoningContent: m.ReasoningContent,
			ToolCallID: m.ToolCallID, Name: m.Name}
		for _, c := range m.ToolCalls {
			out[i].ToolCalls = append(out[i].ToolCalls, chattemplate.ToolCall{ID: c.ID, Name: c.Function.Name,
				Arguments: string(c.Function.Arguments)})
		}
	}
	return out
}

// handleApplyTemplate serves POST /apply-template: a chat request's prompt as the model would get it,
// {"prompt": "..."}, without generating.
func (s *Server) handleApplyTemplate(w http.ResponseWriter, r *http.Request, e *engine) {
	text, apiErr := s.promptOfChatRequest(w, r, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"prompt": text})
}

// promptOfChatRequest reads a chat request and renders the prompt chat would give the model.
func (s *Server) promptOfChatRequest(w http.ResponseWriter, r *http.Request, e *engine) (string, *apiError) {
	var req chatRequest
	if err := s.decodeRequest(w, r, &req, epChat); err != nil {
		return "", err
	}
	msgs, apiErr := chatMessages(req.Messages)
	if apiErr != nil {
		return "", apiErr
	}
	text, _, apiErr := e.chatPrompt(&req, msgs)
	return text, apiErr
}

// UnmarshalJSON reads a message and checks that it has what llama-server requires: content, or for an
// assistant content or tool calls (null counts as given).
func (m *chatMessage) UnmarshalJSON(b []byte) error {
	type plain chatMessage
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	_, hasContent := keys["content"]
	_, hasCalls := keys["tool_calls"]
	switch {
	case p.Role != "assistant" && !hasContent:
		return &fieldError{"messages", "All non-assistant messages must contain 'content'"}
	case p.Role == "assistant" && !hasContent && !hasCalls:
		return &fieldError{"messages", "Assistant message must contain either 'content' or 'tool_calls'!"}
	}
	*m = chatMessage(p)
	return nil
}
