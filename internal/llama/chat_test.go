package llama

import (
	"slices"
	"strings"
	"testing"
)

var conversation = []ChatMessage{
	{Role: "system", Content: "You are terse."},
	{Role: "user", Content: "Say hi."},
	{Role: "assistant", Content: "Hi."},
	{Role: "user", Content: "Again."},
}

func TestApplyChatTemplateNamedChatML(t *testing.T) {
	initLibraries(t)
	got, err := ApplyChatTemplate("chatml", conversation[:2], true)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Fatalf("ApplyChatTemplate(chatml) = %q, want %q", got, want)
	}
}

// TestApplyChatTemplateOfGeneratedModel checks that llama.cpp recognises the generated model's own template.
func TestApplyChatTemplateOfGeneratedModel(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	without, err := ApplyChatTemplate(m.ChatTemplate(), conversation, false)
	if err != nil {
		t.Fatalf("the generated model's template is not one llama.cpp formats: %v", err)
	}
	with, err := ApplyChatTemplate(m.ChatTemplate(), conversation, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(with, without) || len(with) <= len(without) {
		t.Errorf("with the assistant opening %q does not extend without it %q", with, without)
	}
	rest := without
	for _, msg := range conversation {
		i := strings.Index(rest, msg.Content)
		if i < 0 {
			t.Fatalf("prompt %q lacks %q in order", without, msg.Content)
		}
		rest = rest[i+len(msg.Content):]
	}
}

// TestApplyChatTemplateGrowsItsBuffer formats many short messages, whose markup outgrows the first buffer.
func TestApplyChatTemplateGrowsItsBuffer(t *testing.T) {
	initLibraries(t)
	msgs := slices.Repeat([]ChatMessage{{Role: "user", Content: "a"}}, 200)
	got, err := ApplyChatTemplate("chatml", msgs, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("<|im_start|>user\na<|im_end|>\n", 200); got != want {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
}

func TestApplyChatTemplateUnknownTemplateListsBuiltins(t *testing.T) {
	initLibraries(t)
	_, err := ApplyChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}", conversation, true)
	if err == nil || !strings.Contains(err.Error(), "chatml") {
		t.Fatalf("unknown template: error %v, want one listing the built-in families", err)
	}
	if !slices.Contains(BuiltinChatTemplates(), "chatml") {
		t.Errorf("BuiltinChatTemplates() = %v, lacks chatml", BuiltinChatTemplates())
	}
}
