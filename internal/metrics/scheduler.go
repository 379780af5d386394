package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custos/internal/scheduler"
)

// loadBuckets span a tiny model (10 ms) to a large one read from a slow
// disk (10 min).
var loadBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// Models is the metrics of loading and unloading models; it is the
// scheduler's Observer.
type Models struct {
	loads        *prometheus.CounterVec
	unloads      *prometheus.CounterVec
	loadDuration *prometheus.HistogramVec
	waited       *prometheus.CounterVec
}

var _ scheduler.Observer = (*Models)(nil)

// NewModels registers the model-placement metrics with m.
func (m *Metrics) NewModels() *Models {
	ms := &Models{
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custos_model_loads_total", Help: "Loads of a model the scheduler began (on demand or asked).",
		}, []string{"model"}),
		unloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custos_model_unloads_total", Help: "Unloads of a model the scheduler began, by reason: idle (ttl), evicted (to make room), asked (an operator).",
		}, []string{"model", "reason"}),
		loadDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "custos_model_load_duration_seconds", Help: "Time from the start of a load to the backend's first 200 on /health.", Buckets: loadBuckets,
		}, []string{"model"}),
		waited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custos_requests_waited_for_load_total", Help: "Requests that waited for their model to be loaded (or to finish unloading first).",
		}, []string{"model"}),
	}
	m.reg.MustRegister(ms.loads, ms.unloads, ms.loadDuration, ms.waited)
	return ms
}

func (ms *Models) Loading(model string) { ms.loads.WithLabelValues(model).Inc() }
func (ms *Models) Loaded(model string, d time.Duration) {
	ms.loadDuration.WithLabelValues(model).Observe(d.Seconds())
}
func (ms *Models) Unloading(model, kind string) { ms.unloads.WithLabelValues(model, kind).Inc() }
func (ms *Models) WaitedForLoad(model string)   { ms.waited.WithLabelValues(model).Inc() }

// memoryCollector exports the budget and each model's memory, read from the
// scheduler at scrape time.
type memoryCollector struct {
	sched                       *scheduler.Scheduler
	ids                         []string
	budget, gpuBudget, resident *prometheus.Desc
	model                       *prometheus.Desc
}

// NewMemoryCollector exports the memory budget and the models' memory.
func NewMemoryCollector(sched *scheduler.Scheduler, ids []string) prometheus.Collector {
	return &memoryCollector{
		sched: sched, ids: ids,
		budget:    prometheus.NewDesc("custos_memory_budget_bytes", "The memory budget the loaded models must fit in (resources.memory; 0: none).", nil, nil),
		gpuBudget: prometheus.NewDesc("custos_gpu_memory_budget_bytes", "The GPU memory budget the loaded models must fit in (resources.gpu_memory; 0: none).", nil, nil),
		resident:  prometheus.NewDesc("custos_memory_resident_bytes", "Memory the loaded models count for, all together.", nil, nil),
		model: prometheus.NewDesc("custos_model_memory_bytes",
			"A loaded model's memory: measured (its backend's process group's resident memory) or, until measured, estimated.", []string{"model", "source"}, nil),
	}
}

func (c *memoryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.budget
	ch <- c.gpuBudget
	ch <- c.resident
	ch <- c.model
}

func (c *memoryCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.budget, prometheus.GaugeValue, float64(c.sched.Budget()))
	ch <- prometheus.MustNewConstMetric(c.gpuBudget, prometheus.GaugeValue, float64(c.sched.GPUBudget()))
	ch <- prometheus.MustNewConstMetric(c.resident, prometheus.GaugeValue, float64(c.sched.Resident()))
	for _, id := range c.ids {
		in, _ := c.sched.Info(id)
		if !in.Loaded {
			continue
		}
		source := "estimated"
		if in.Measured {
			source = "measured"
		}
		ch <- prometheus.MustNewConstMetric(c.model, prometheus.GaugeValue, float64(in.Memory), id, source)
	}
}
