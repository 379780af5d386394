package chattemplate

import (
	"encoding/json"
	"time"

	"github.com/ardanlabs/jinja"
)

// Input is what a template renders: the conversation, the tools the model may call, and the settings
// llama-server passes to every template.
type Input struct {
	Messages []Message
	// Tools are offered to the model; none means the template's variable "tools" is left undefined, as
	// llama-server does, since templates test it with "is defined" or "is not none".
	Tools []Tool
	// AddGenerationPrompt ends the prompt with the opening of the assistant's reply. Like llama-server,
	// the variable is left undefined when false.
	AddGenerationPrompt bool
	// EnableThinking is the template's enable_thinking, which reasoning models' templates read.
	EnableThinking bool
	// BOSToken and EOSToken are the text of the model's beginning- and end-of-sequence tokens.
	BOSToken, EOSToken string
	// Kwargs are extra template variables (the request's chat_template_kwargs), each a JSON value. They
	// override the variables above of the same name, as in llama-server.
	Kwargs map[string]json.RawMessage
	// Now is the time strftime_now and date_string see (default: the time of the call).
	Now time.Time
}

// Message is one message of the conversation.
type Message struct {
	Role    string
	Content string
	// ReasoningContent is the thinking an assistant message came with, which thinking templates show.
	ReasoningContent string
	// ToolCalls are the calls an assistant message made.
	ToolCalls []ToolCall
	// ToolCallID and Name say, on a "tool" message, which call it answers and which function ran.
	ToolCallID string
	Name       string
}

// ToolCall is one function call an assistant made.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // a JSON object, as OpenAI's API carries it
}

// Tool is one function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the function's JSON Schema (default: an empty object).
	Parameters json.RawMessage
}

// context builds the template's variables. objectArgs gives tool call arguments to the template as an
// object rather than a JSON string, for templates that serialize them with tojson.
func (in Input) context(objectArgs bool) (map[string]jinja.Value, error) {
	msgs := make([]jinja.Value, len(in.Messages))
	for i, m := range in.Messages {
		v, err := m.value(objectArgs)
		if err != nil {
			return nil, err
		}
		msgs[i] = v
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	data := map[string]jinja.Value{
		"messages":        jinja.NewList(msgs),
		"bos_token":       jinja.NewString(in.BOSToken),
		"eos_token":       jinja.NewString(in.EOSToken),
		"enable_thinking": jinja.NewBool(in.EnableThinking),
		// llama-server gives every template these two dates; Llama 3.x prints date_string.
		"date_string": jinja.NewString(now.Format("02 Jan 2006")),
		"datetime":    jinja.NewString(now.Format("Jan 02 2006")),
	}
	if in.AddGenerationPrompt {
		data["add_generation_prompt"] = jinja.NewBool(true)
	}
	if len(in.Tools) > 0 {
		tools := make([]jinja.Value, len(in.Tools))
		for i, t := range in.Tools {
			v, err := t.value()
			if err != nil {
				return nil, err
			}
			tools[i] = v
		}
		data["tools"] = jinja.NewList(tools)
	}
	for name, raw := range in.Kwargs {
		v, err := valueFromJSON(raw)
		if err != nil {
			return nil, &InputError{What: "chat_template_kwargs." + name, Err: err}
		}
		data[name] = v
	}
	return data, nil
}

func (m Message) value(objectArgs bool) (jinja.Value, error) {
	d := jinja.NewDict()
	dict := d.AsDict()
	dict.Set("role", jinja.NewString(m.Role))
	dict.Set("content", jinja.NewString(m.Content))
	if m.ReasoningContent != "" {
		dict.Set("reasoning_content", jinja.NewString(m.ReasoningContent))
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]jinja.Value, len(m.ToolCalls))
		for i, c := range m.ToolCalls {
			v, err := c.value(objectArgs)
			if err != nil {
				return jinja.Value{}, err
			}
			calls[i] = v
		}
		dict.Set("tool_calls", jinja.NewList(calls))
	}
	if m.Name != "" {
		dict.Set("name", jinja.NewString(m.Name))
	}
	if m.ToolCallID != "" {
		dict.Set("tool_call_id", jinja.NewString(m.ToolCallID))
	}
	return d, nil
}

func (c ToolCall) value(objectArgs bool) (jinja.Value, error) {
	args := jinja.NewString(c.Arguments)
	if objectArgs {
		raw := c.Arguments
		if raw == "" {
			raw = "{}"
		}
		v, err := valueFromJSON(json.RawMessage(raw))
		if err != nil {
			return jinja.Value{}, &InputError{What: "the arguments of tool call " + c.Name, Err: err}
		}
		args = v
	}
	fn := jinja.NewDict()
	fn.AsDict().Set("name", jinja.NewString(c.Name))
	fn.AsDict().Set("arguments", args)
	d := jinja.NewDict()
	d.AsDict().Set("type", jinja.NewString("function"))
	d.AsDict().Set("function", fn)
	if c.ID != "" {
		d.AsDict().Set("id", jinja.NewString(c.ID))
	}
	return d, nil
}

func (t Tool) value() (jinja.Value, error) {
	params := jinja.NewDict()
	if len(t.Parameters) > 0 {
		v, err := valueFromJSON(t.Parameters)
		if err != nil {
			return jinja.Value{}, &InputError{What: "the parameters of tool " + t.Name, Err: err}
		}
		params = v
	}
	fn := jinja.NewDict()
	fn.AsDict().Set("name", jinja.NewString(t.Name))
	fn.AsDict().Set("description", jinja.NewString(t.Description))
	fn.AsDict().Set("parameters", params)
	d := jinja.NewDict()
	d.AsDict().Set("type", jinja.NewString("function"))
	d.AsDict().Set("function", fn)
	return d, nil
}

// InputError is a part of the input that is not the JSON it should be: the client's fault.
type InputError struct {
	What string
	Err  error
}

func (e *InputError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }
