package e2e

import (
	"fmt"
	"testing"

	"custos/internal/llama/llamatest"
	"custos/internal/supervisor"
)

// engine is a real inference backend that the engine scenarios run custos over: its embedded runner, and
// llama.cpp's own llama-server of the release the runner's libraries come from, on the same generated model.
// A scenario that holds for one must hold for the other, since custos supervises both the same way.
type engine struct {
	name    string                                  // the subtest's name
	backend string                                  // the backend name /status reports for it
	block   func(t *testing.T, model string) string // the model block's lines that choose and start it
}

var engines = []engine{
	{name: "runner", backend: supervisor.BackendNameRunner, block: runnerBlock},
	{name: "llama-server", backend: supervisor.BackendNameLlamaServer, block: llamaServerBlock},
}

// forEachEngine runs scenario once per engine, each as a subtest named after it.
func forEachEngine(t *testing.T, scenario func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { scenario(t, e) })
	}
}

// runnerBlock serves the model with custos's embedded engine.
func runnerBlock(t *testing.T, model string) string {
	t.Setenv("CUSTOS_LLAMA_LIB_DIR", llamatest.LibDir(t))
	return fmt.Sprintf("    backend: runner\n    model: %s\n", model)
}

// llamaServerBlock serves the model with the real llama-server: four slots sharing a 4,096-token context, on
// one thread so that it leaves the machine's other core to the rest of the suite.
func llamaServerBlock(t *testing.T, model string) string {
	bin := llamatest.LlamaServer(t)
	return fmt.Sprintf("    backend: llama-server\n    model: %s\n"+
		"    cmd: [%q, \"-m\", \"${MODEL}\", \"--host\", \"${HOST}\", \"--port\", \"${PORT}\", \"-np\", \"4\", \"-c\", \"4096\", \"-t\", \"1\"]\n",
		model, bin)
}
