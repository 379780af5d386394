// Command custos keeps local LLM inference up: it supervises llama.cpp
// backends behind an OpenAI-compatible gateway. This package is the CLI
// only; everything it runs lives in internal/.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `custos keeps local LLM inference up.

Usage:
  custos serve   --config FILE | --model FILE.gguf   run the gateway and its backends
  custos check   --config FILE                       validate a configuration
  custos status  [--addr HOST:PORT] [--json]         show a running custos's state
  custos restart [--addr HOST:PORT] MODEL            restart a model's backend
  custos load    [--addr HOST:PORT] MODEL            load a model now (if it fits)
  custos unload  [--addr HOST:PORT] MODEL            unload a model once its requests are done
  custos ps      [--addr HOST:PORT] [--json]         the models, their memory and when they unload
  custos pause   [--model M] --reason TEXT           pause inference (requests wait)
  custos resume  [--model M]                         resume inference
  custos wellbeing STATE --reason TEXT               report wellbeing (healthy|cautious|concerned|distressed)
  custos audit   [--limit N] [--json]                the intervention audit log
  custos runner  -m FILE.gguf --port N ...           the embedded engine (llama-server compatible)
  custos model   gen|info ...                        generate or inspect a GGUF model
  custos version                                     print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the process exit status:
// 0 success, 1 runtime failure, 2 usage or configuration error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	switch cmd {
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "custos %s\n", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		return serveCommand(args[1:], stdout, stderr)
	case "check":
		return checkCommand(args[1:], stdout, stderr)
	case "status":
		return statusCommand(args[1:], stdout, stderr)
	case "restart", "load", "unload":
		return modelActionCommand(cmd, args[1:], stdout, stderr)
	case "ps":
		return psCommand(args[1:], stdout, stderr)
	case "pause":
		return pauseCommand(args[1:], stdout, stderr)
	case "resume":
		return resumeCommand(args[1:], stdout, stderr)
	case "wellbeing":
		return wellbeingCommand(args[1:], stdout, stderr)
	case "audit":
		return auditCommand(args[1:], stdout, stderr)
	case "runner":
		return runnerCommand(args[1:], stdout, stderr)
	case "model":
		return modelCommand(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "custos: unknown command %q\n\n%s", cmd, usage)
	return 2
}
