package supervisor

import (
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"custos/internal/config"
)

// backendHost is the only address backends listen on: they are reachable
// through the gateway, never directly.
const backendHost = "127.0.0.1"

// backendName is the name /health reports for a model's backend kind.
func backendName(m config.Model) string {
	if m.Backend == config.BackendLlamaServer {
		return BackendNameLlamaServer
	}
	return BackendNameRunner
}

// buildArgv is the backend's command line for one start on port. A runner
// backend is custos itself (`executable runner ...`); a llama-server backend
// is the configured Cmd with ${MODEL}, ${HOST} and ${PORT} substituted in
// every element. Args follow either. The argv is executed directly, never
// through a shell, so a model path with spaces or quotes stays one argument.
func buildArgv(m config.Model, executable string, port int) []string {
	p := strconv.Itoa(port)
	var argv []string
	if m.Backend == config.BackendLlamaServer {
		r := strings.NewReplacer("${MODEL}", m.ModelPath, "${HOST}", backendHost, "${PORT}", p)
		for _, a := range m.Cmd {
			argv = append(argv, r.Replace(a))
		}
	} else {
		argv = []string{executable, "runner", "-m", m.ModelPath, "--host", backendHost, "--port", p, "--alias", m.ID}
		if !hasFlag(m.Args, "-np", "--parallel") {
			// As many decoding slots as requests the gateway lets through,
			// so admitted requests are batched rather than queued again.
			argv = append(argv, "--parallel", strconv.Itoa(m.MaxConcurrency))
		}
		if n := contextFromModel(m); n > 0 && !hasFlag(m.Args, "-c", "--ctx-size") {
			argv = append(argv, "--ctx-size", strconv.Itoa(n))
		}
	}
	return append(argv, m.Args...)
}

// runnerContextCap is the runner's own default context size; a model
// trained on less gets its trained length instead, since positions past
// it degrade the model's output.
const runnerContextCap = 4096

// contextFromModel is the context size the model's metadata calls for, or
// 0 to keep the runner's default.
func contextFromModel(m config.Model) int {
	if m.Info == nil || m.Info.ContextLength <= 0 || m.Info.ContextLength >= runnerContextCap {
		return 0
	}
	return m.Info.ContextLength
}

// hasFlag reports whether args set any of names (as "-x v" or "-x=v").
func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if a == n || strings.HasPrefix(a, n+"=") {
				return true
			}
		}
	}
	return false
}

// buildEnv is custos's environment plus the model's Env, in key order so a
// backend sees the same environment on every start. os/exec keeps the last
// value of a duplicated key, so the model's Env wins.
func buildEnv(m config.Model) []string {
	env := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(m.Env)) {
		env = append(env, k+"="+m.Env[k])
	}
	return env
}
