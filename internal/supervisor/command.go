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
// backend is custos itself (`executable runner ...`), given maxBodyBytes,
// the gateway's body limit, so that it reads every body the gateway
// accepts (0 keeps the runner's default); a llama-server backend is the
// configured Cmd with ${MODEL}, ${HOST} and ${PORT} substituted in every
// element. Args follow either. The argv is executed directly, never through
// a shell, so a model path with spaces or quotes stays one argument.
func buildArgv(m config.Model, executable string, port int, maxBodyBytes int64) []string {
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
		if maxBodyBytes > 0 && !hasFlag(m.Args, "--max-body-bytes") {
			argv = append(argv, "--max-body-bytes", strconv.FormatInt(maxBodyBytes, 10))
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

// inheritedEnv is all a backend gets of custos's own environment, which
// holds secrets (the admin token, the fallback's key, API keys) and
// whatever else custos was started with; a backend needs none of that. An
// entry ending in "*" is a prefix. Anything else a backend needs goes in
// its model's env:. SHELL is left out: no backend runs through a shell.
var inheritedEnv = []string{
	// What any process expects: finding programs, the user, the home and
	// temporary folders.
	"PATH", "HOME", "USER", "LOGNAME", "TMPDIR",
	// Locale and time zone, for the backend's text and timestamps.
	"LANG", "LANGUAGE", "LC_*", "TZ",
	// Shared libraries: those a llama-server is linked against, and the
	// folder where custos runner finds llama.cpp's.
	"LD_LIBRARY_PATH", "CUSTOS_LLAMA_LIB_DIR",
	// The GPU runtimes' device selection and settings, for a backend that
	// offloads: CUDA (CUDA_VISIBLE_DEVICES), ROCm (HIP_VISIBLE_DEVICES,
	// ROCR_VISIBLE_DEVICES, HSA_OVERRIDE_GFX_VERSION) and ggml's own.
	"CUDA_*", "HIP_*", "ROCR_*", "HSA_*", "GGML_*",
}

// inherited reports whether a backend gets custos's variable name.
func inherited(name string) bool {
	for _, e := range inheritedEnv {
		if prefix, ok := strings.CutSuffix(e, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if e == name {
			return true
		}
	}
	return false
}

// secretEnv names the variables cfg reads its secrets from. A backend never
// inherits them, even those inheritedEnv matches.
func secretEnv(cfg *config.Config) []string {
	names := []string{cfg.Admin.TokenEnv, cfg.Auth.APIKeysEnv}
	if cfg.Fallback != nil {
		names = append(names, cfg.Fallback.APIKeyEnv)
	}
	return slices.DeleteFunc(names, func(n string) bool { return n == "" })
}

// buildEnv is the part of custos's environment that inheritedEnv lets
// through, less the secrets, plus the model's Env in key order so a
// backend sees the same environment on every start. os/exec keeps the last
// value of a duplicated key, so the model's Env wins, and a secret it sets
// itself is passed.
func buildEnv(m config.Model, secrets []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if inherited(name) && !slices.Contains(secrets, name) {
			env = append(env, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Env)) {
		env = append(env, k+"="+m.Env[k])
	}
	return env
}
