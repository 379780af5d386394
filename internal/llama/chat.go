package llama

import (
	"fmt"
	"math"
	"runtime"
	"strings"
)

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	Role    string
	Content string
}

// ApplyChatTemplate formats msgs into a prompt with llama.cpp's llama_chat_apply_template. That function
// does not run Jinja: it recognises tmpl (usually Model.ChatTemplate) as one of llama.cpp's built-in template
// families by its text, or by name ("chatml", "llama3", ... see BuiltinChatTemplates). An empty tmpl means
// llama.cpp's default, ChatML. addAssistant ends the prompt with the opening of the assistant's reply.
func ApplyChatTemplate(tmpl string, msgs []ChatMessage, addAssistant bool) (string, error) {
	if !initialized() {
		return "", ErrNotInitialized
	}
	var tmplPtr *byte
	var tmplBytes []byte
	if tmpl != "" {
		tmplBytes = cString(tmpl)
		tmplPtr = &tmplBytes[0]
	}
	cMsgs := make([]chatMessage, len(msgs))
	strs := make([][]byte, 0, 2*len(msgs))
	total := 0
	for i, msg := range msgs {
		role, content := cString(msg.Role), cString(msg.Content)
		strs = append(strs, role, content)
		cMsgs[i] = chatMessage{role: &role[0], content: &content[0]}
		total += len(msg.Role) + len(msg.Content)
	}
	var msgPtr *chatMessage
	if len(cMsgs) > 0 {
		msgPtr = &cMsgs[0]
	}
	// llama.h recommends twice the message text; the result says the size needed when that is too small.
	buf := make([]byte, min(2*total+256, math.MaxInt32))
	for range 2 {
		n := llamaChatApplyTemplate(tmplPtr, msgPtr, uintptr(len(cMsgs)), addAssistant, &buf[0], int32(len(buf)))
		switch {
		case n < 0:
			return "", fmt.Errorf("llama: chat template not supported by llama.cpp's built-in formats (%s)",
				strings.Join(BuiltinChatTemplates(), ", "))
		case int(n) <= len(buf):
			runtime.KeepAlive(strs)
			runtime.KeepAlive(tmplBytes)
			return string(buf[:n]), nil
		}
		buf = make([]byte, n)
	}
	return "", fmt.Errorf("llama: chat template: the prompt length changed between two calls")
}

// BuiltinChatTemplates lists the names of the chat template families llama.cpp formats itself.
func BuiltinChatTemplates() []string {
	if !initialized() {
		return nil
	}
	n := llamaChatBuiltins(nil, 0)
	if n <= 0 {
		return nil
	}
	ptrs := make([]*byte, n)
	n = llamaChatBuiltins(&ptrs[0], uintptr(len(ptrs)))
	names := make([]string, 0, n)
	for _, p := range ptrs[:min(int(n), len(ptrs))] {
		names = append(names, goString(p))
	}
	return names
}
