package runner

import (
	"bytes"
	"encoding/json"

	"custos/internal/chattemplate"
)

// continueMode is how a reply continues the conversation's final assistant message, as llama-server's
// continue_final_message says it.
type continueMode int

const (
	// continueAuto continues the reasoning of a message that holds reasoning only, else its content.
	continueAuto continueMode = iota
	// continueContent closes the message's reasoning and continues its content.
	continueContent
	// continueReasoning continues the message's reasoning; its content is not written.
	continueReasoning
)

// resolve is the part of m that continueAuto continues: its reasoning when it holds reasoning only, else
// its content, as llama-server decides it from the message.
func (mode continueMode) resolve(m chattemplate.Message) continueMode {
	if mode != continueAuto {
		return mode
	}
	if m.ReasoningContent != "" && m.Content == "" {
		return continueReasoning
	}
	return continueContent
}

// continuationFields hold continue_final_message. Without it a final assistant message is continued all
// the same (llama-server's default --prefill-assistant); the field asks for it outright, and chooses what
// part of the message goes on.
type continuationFields struct {
	ContinueFinalMessage json.RawMessage `json:"continue_final_message"`
	// repeatContinued makes the reply start with the message it continues, as llama-server's chat
	// completions do unless continue_final_message is given, and read a thinking template's reasoning
	// out of it; the Anthropic and Responses routes give only what the model wrote.
	repeatContinued bool
}

// continueMode reads continue_final_message: true is continueAuto, "content" and "reasoning_content"
// their modes, false and null the default. Asking for it outright needs add_generation_prompt false, as
// llama-server requires; another value gets 400 naming the field, where llama-server takes it as false.
func (f *continuationFields) continueMode(addGenerationPrompt *bool) (mode continueMode, asked bool, err *apiError) {
	raw := bytes.TrimSpace(f.ContinueFinalMessage)
	switch string(raw) {
	case "", "null", "false":
		return continueAuto, false, nil
	case "true":
		mode = continueAuto
	case `"content"`:
		mode = continueContent
	case `"reasoning_content"`:
		mode = continueReasoning
	default:
		return 0, false, badRequest("\"continue_final_message\" must be true, false, \"content\" or \"reasoning_content\", got %s", raw)
	}
	if addGenerationPrompt == nil || *addGenerationPrompt {
		return 0, false, badRequest("Cannot set both add_generation_prompt and continue_final_message to true.")
	}
	return mode, true, nil
}
