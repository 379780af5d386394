package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The engine scenario: `custos runner` next to the real llama-server of the same llama.cpp release, on
// the same generated models, with the same flags, each measured in rounds that alternate between them
// so that the noise of a shared machine falls on both.

// engineModel is a generated model the engine scenario measures, and the tokens each decode request
// generates on it (ignoring end of sequence): enough for a steady rate, few enough to bound the time.
type engineModel struct {
	name        string
	dim, layers int
	predict     int
}

var engineModels = []engineModel{{"18 MB (256×4)", 256, 4, 128}, {"231 MB (768×6)", 768, 6, 64}}

// engineThreads are the -t values compared: the machines custos targets have 2 cores.
var engineThreads = []int{1, 2}

const (
	enginePromptTokens = 1000 // tokens of the prompt-processing request
	engineStreams      = 4    // concurrent streams of the parallel decode measurement (the servers' -np)
	// engineRequestTimeout bounds each request: on a machine loaded enough to need more, the figures
	// would say nothing anyway.
	engineRequestTimeout = 30 * time.Second
)

// engineMetric is one measured figure, in tokens per second.
type engineMetric struct {
	name    string
	measure func(e *engineClient, ctx context.Context, base string, predict int) (float64, error)
}

var engineMetrics = []engineMetric{
	{"decode, 1 stream", func(e *engineClient, ctx context.Context, base string, predict int) (float64, error) {
		t, err := e.complete(ctx, base, "Once upon a time", predict)
		return t.PredictedPerSecond, err
	}},
	{fmt.Sprintf("decode, %d streams", engineStreams), (*engineClient).parallelDecode},
	{fmt.Sprintf("prompt (%d tokens)", enginePromptTokens), func(e *engineClient, ctx context.Context, base string, _ int) (float64, error) {
		t, err := e.complete(ctx, base, freshPrompt(enginePromptTokens), 1)
		if err == nil && t.PromptN < enginePromptTokens*9/10 {
			err = fmt.Errorf("the server evaluated %d prompt tokens of about %d: it reused a cache", t.PromptN, enginePromptTokens)
		}
		return t.PromptPerSecond, err
	}},
}

// engineServer is how one of the two servers is started.
type engineServer struct {
	name string
	argv func(model, port string, threads int) []string
}

// engineScenarios are one scenario per model and thread count ("engine/256x4/t1", ...), each adding its
// rows to one table.
func engineScenarios() []scenario {
	var list []scenario
	for _, m := range engineModels {
		for _, threads := range engineThreads {
			list = append(list, scenario{fmt.Sprintf("engine/%dx%d/t%d", m.dim, m.layers, threads),
				func(o *options, rep *report) error { return engineVsLlamaServer(o, rep, m, threads) }})
		}
	}
	return list
}

func engineVsLlamaServer(o *options, rep *report, m engineModel, threads int) error {
	llamaServer, err := findLlamaServer()
	if err != nil {
		return err
	}
	custos, err := filepath.Abs(o.custos)
	if err != nil {
		return err
	}
	common := func(model, port string, threads int) []string {
		return []string{"-m", model, "--host", "127.0.0.1", "--port", port, "-np", fmt.Sprint(engineStreams), "-c", "4096", "-t", fmt.Sprint(threads)}
	}
	servers := [2]engineServer{
		{"runner", func(model, port string, threads int) []string {
			argv := append([]string{custos, "runner"}, common(model, port, threads)...)
			if o.runnerLibDir != "" {
				argv = append(argv, "--lib-dir", o.runnerLibDir)
			}
			return argv
		}},
		{"llama-server", func(model, port string, threads int) []string {
			return append([]string{llamaServer}, common(model, port, threads)...)
		}},
	}
	rounds := o.engineRounds
	if o.quick {
		rounds = 1
	}
	s := rep.table(fmt.Sprintf("The runner against llama-server (tokens/s, median of %d alternating rounds; -np %d -c 4096)", rounds, engineStreams),
		[]string{"model", "threads", "measure", "runner", "llama-server", "runner ÷ llama-server (median of rounds)", "target", "load average"})
	path, err := engineModelFile(o, m)
	if err != nil {
		return err
	}
	rates, err := measureEnginePair(newEngineClient(), servers, path, threads, rounds, m.predict)
	if err != nil {
		return fmt.Errorf("%s, -t %d: %w", m.name, threads, err)
	}
	load := loadAverage()
	for i, metric := range engineMetrics {
		x := pairedRatio(rates[0][i], rates[1][i])
		s.row(m.name, fmt.Sprint(threads), metric.name, fmt.Sprintf("%.0f", median(rates[0][i])),
			fmt.Sprintf("%.0f", median(rates[1][i])), ratio(x), "≥ 1.00×: "+verdict(x >= 1), load)
	}
	if len(s.notes) == 0 {
		libraries := "the prebuilt libraries it finds itself (make deps)"
		if o.runnerLibDir != "" {
			libraries = o.runnerLibDir
		}
		s.note("The runner's libraries: %s.", libraries)
		s.note("llama-server: %s. Both get the same flags; decode requests generate %d tokens (18 MB) or %d (231 MB) ignoring end of sequence, one stream's rate is timings.predicted_per_second, %d streams' is their tokens over the wall time; prompt is timings.prompt_per_second of a fresh %d-token prompt. A request that takes over %v counts as 0 tokens/s. The load average (1, 5, 15 minutes) is read after each model and thread count.",
			llamaServer, engineModels[0].predict, engineModels[1].predict, engineStreams, enginePromptTokens, engineRequestTimeout)
	}
	return nil
}

// pairedRatio is the median over rounds of runner ÷ llama-server, each pair measured back to back: the load
// of a shared machine drifts between rounds more than between the two halves of one.
// A round where both timed out is left out.
func pairedRatio(runner, llamaServer []float64) float64 {
	var ratios []float64
	for i := range runner {
		if runner[i] != 0 || llamaServer[i] != 0 {
			ratios = append(ratios, runner[i]/llamaServer[i])
		}
	}
	if len(ratios) == 0 {
		return math.NaN()
	}
	return median(ratios)
}

// measureEnginePair starts both servers on one model and thread count and measures every metric in
// rounds, alternating which server goes first. rates[server][metric] holds one figure per round.
func measureEnginePair(e *engineClient, servers [2]engineServer, model string, threads, rounds, predict int) ([2][][]float64, error) {
	var rates [2][][]float64
	var procs [2]*engineProc
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.stop()
			}
		}
	}()
	for i, srv := range servers {
		p, err := startEngineProc(srv, model, threads)
		if err != nil {
			return rates, err
		}
		procs[i] = p
		rates[i] = make([][]float64, len(engineMetrics))
	}
	for _, p := range procs { // warm-up: first requests pay for page faults and allocations
		if _, err := e.complete(context.Background(), p.url, "Hello", 16); err != nil {
			return rates, fmt.Errorf("%s warm-up: %w", p.name, err)
		}
	}
	for round := range rounds {
		for mi, metric := range engineMetrics {
			for k := range procs {
				i := (k + round + mi) % len(procs)
				ctx, cancel := context.WithTimeout(context.Background(), engineRequestTimeout)
				x, err := metric.measure(e, ctx, procs[i].url, predict)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					x, err = 0, nil // counted as 0 tokens/s: it was too slow to measure
				}
				if err != nil {
					return rates, fmt.Errorf("%s, %s: %w\n%s", procs[i].name, metric.name, err, procs[i].logTail())
				}
				rates[i][mi] = append(rates[i][mi], x)
			}
		}
	}
	return rates, nil
}

// engineProc is one running server.
type engineProc struct {
	name, url string
	cmd       *exec.Cmd
	exited    chan struct{}
	log       *tailBuffer
}

func startEngineProc(srv engineServer, model string, threads int) (*engineProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	argv := srv.argv(model, port, threads)
	p := &engineProc{name: srv.name, url: "http://" + addr, exited: make(chan struct{}), log: &tailBuffer{}}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", srv.name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start:\n%s", srv.name, p.logTail())
		default:
		}
		if resp, err := http.Get(p.url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not answer /health within 2 minutes:\n%s", srv.name, p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the exit (SIGKILL after 20 s).
func (p *engineProc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *engineProc) logTail() string { return p.log.String() }

// tailBuffer keeps the last 4 KiB written to it, for errors.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 4096 {
		b.buf = b.buf[len(b.buf)-4096:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// engineClient sends native /completion requests.
type engineClient struct{ http *http.Client }

func newEngineClient() *engineClient {
	return &engineClient{http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// engineTimings is the part of llama-server's timings object the scenario reads.
type engineTimings struct {
	PromptN            int     `json:"prompt_n"`
	PromptPerSecond    float64 `json:"prompt_per_second"`
	PredictedN         int     `json:"predicted_n"`
	PredictedPerSecond float64 `json:"predicted_per_second"`
}

// complete asks base for nPredict tokens after prompt (text or token ids), ignoring end of sequence and without the prompt
// cache, and returns the server's timings.
func (e *engineClient) complete(ctx context.Context, base string, prompt any, nPredict int) (engineTimings, error) {
	body, err := json.Marshal(map[string]any{"prompt": prompt, "n_predict": nPredict, "ignore_eos": true,
		"cache_prompt": false, "seed": 1})
	if err != nil {
		return engineTimings{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/completion", bytes.NewReader(body))
	if err != nil {
		return engineTimings{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return engineTimings{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return engineTimings{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return engineTimings{}, fmt.Errorf("/completion: status %d: %s", resp.StatusCode, data)
	}
	var out struct {
		Timings engineTimings `json:"timings"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return engineTimings{}, fmt.Errorf("/completion: %w", err)
	}
	if out.Timings.PredictedN != nPredict {
		return out.Timings, fmt.Errorf("/completion generated %d tokens, asked for %d", out.Timings.PredictedN, nPredict)
	}
	return out.Timings, nil
}

// parallelDecode runs engineStreams decode requests at once and returns their tokens per second of
// wall time.
func (e *engineClient) parallelDecode(ctx context.Context, base string, predict int) (float64, error) {
	var wg sync.WaitGroup
	errs := make([]error, engineStreams)
	start := time.Now()
	for i := range engineStreams {
		wg.Go(func() {
			_, errs[i] = e.complete(ctx, base, fmt.Sprintf("Stream %d: once upon a time", i), predict)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(engineStreams*predict) / elapsed.Seconds(), nil
}

// freshPrompt is a prompt of n random token ids among the generated models' byte tokens (ids 3 to 258),
// so that no prefix cache applies.
func freshPrompt(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 3 + rand.IntN(256)
	}
	return ids
}

// engineModelFile generates the model m (seed 1) under .cache/models once, with custos model gen.
func engineModelFile(o *options, m engineModel) (string, error) {
	path, err := filepath.Abs(filepath.Join(".cache", "models", fmt.Sprintf("bench-%dx%d.gguf", m.dim, m.layers)))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	out, err := exec.Command(o.custos, "model", "gen", "--out", path, "--dim", fmt.Sprint(m.dim),
		"--layers", fmt.Sprint(m.layers), "--seed", "1").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("custos model gen: %v: %s", err, out)
	}
	return path, nil
}

// defaultLlamaServer is where the llama-server of the same release was built on the machines the
// benchmarks were first run on.
const defaultLlamaServer = "/tmp/lls/src/build/bin/llama-server"

// findLlamaServer returns the llama-server binary to compare with: $CUSTOS_LLAMA_SERVER, else what
// scripts/llama-server.sh prints (it builds the pinned release once), else defaultLlamaServer.
func findLlamaServer() (string, error) {
	path := os.Getenv("CUSTOS_LLAMA_SERVER")
	if path == "" {
		if _, err := os.Stat("scripts/llama-server.sh"); err == nil {
			out, err := exec.Command("scripts/llama-server.sh").Output()
			if err != nil {
				return "", fmt.Errorf("scripts/llama-server.sh: %w", err)
			}
			lines := strings.Fields(string(out))
			if len(lines) == 0 {
				return "", errors.New("scripts/llama-server.sh printed no path")
			}
			path = lines[len(lines)-1]
		} else {
			path = defaultLlamaServer
		}
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no llama-server to compare with (%v): set CUSTOS_LLAMA_SERVER", err)
	}
	return path, nil
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], ", ")
}
