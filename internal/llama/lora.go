package llama

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// LoRA is a LoRA adapter loaded for a model (llama_adapter_lora). llama.cpp frees it with its model, so it
// has no Close and must not be used after the model's.
type LoRA struct {
	ptr uintptr // llama_adapter_lora *
	// TaskName and PromptPrefix are the adapter's adapter.lora.task_name and adapter.lora.prompt_prefix
	// metadata, "" when absent; llama-server lists them with each adapter.
	TaskName, PromptPrefix string
}

// ErrActivatedLoRA refuses an activated LoRA (one with invocation tokens), which llama-server applies only
// from those tokens of a prompt on: a scheduling custos does not have.
var ErrActivatedLoRA = errors.New("activated LoRA adapters (adapter.alora.invocation_tokens) are not supported")

// LoadLoRA loads the LoRA adapter GGUF at path for m. llama.cpp checks it against the model: the same
// architecture, and a base tensor of matching shape for every lora_a/lora_b pair.
func (m *Model) LoadLoRA(path string) (*LoRA, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("llama: LoRA adapter: %w", err)
	}
	ptr, errorLines := callReportingError(func() uintptr { return llamaAdapterLoRAInit(m.ptr, path) })
	if ptr == 0 {
		return nil, fmt.Errorf("llama: loading LoRA adapter %s: %s", path, describeFailure(errorLines))
	}
	if llamaAdapterGetALoRANInvocationTokens(ptr) > 0 {
		llamaAdapterLoRAFree(ptr)
		return nil, fmt.Errorf("llama: LoRA adapter %s: %w", path, ErrActivatedLoRA)
	}
	a := &LoRA{ptr: ptr}
	a.TaskName = a.meta("adapter.lora.task_name")
	a.PromptPrefix = a.meta("adapter.lora.prompt_prefix")
	return a, nil
}

// meta is the adapter's metadata value for key as text, "" when absent.
func (a *LoRA) meta(key string) string {
	s, _ := readCString(func(buf *byte, size uintptr) int32 { return llamaAdapterMetaValStr(a.ptr, key, buf, size) })
	return s
}

// SetLoRA sets the adapters c's next decodes apply, adapters[i] at scales[i]; an adapter at scale 0 or not
// listed is not applied, and none lists the base model alone. llama.cpp rebuilds its compute graph only when
// the set differs from the one in place.
func (c *Context) SetLoRA(adapters []*LoRA, scales []float32) {
	if len(adapters) != len(scales) {
		panic(fmt.Sprintf("llama: SetLoRA with %d adapters and %d scales", len(adapters), len(scales)))
	}
	if len(adapters) == 0 {
		llamaSetAdaptersLoRA(c.ptr, nil, 0, nil)
		return
	}
	ptrs := make([]uintptr, len(adapters))
	for i, a := range adapters {
		ptrs[i] = a.ptr
	}
	llamaSetAdaptersLoRA(c.ptr, &ptrs[0], uintptr(len(ptrs)), &scales[0])
	runtime.KeepAlive(ptrs)
	runtime.KeepAlive(scales)
}
