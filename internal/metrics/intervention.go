package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"custos/internal/intervention"
)

// interventionCollector exports seed 004's counters and the current pause
// state, read from the controller at scrape time.
type interventionCollector struct {
	read  func() (intervention.Counters, intervention.State)
	descs map[string]*prometheus.Desc
}

// NewInterventionCollector exports the intervention controller.
func NewInterventionCollector(read func() (intervention.Counters, intervention.State)) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("custos_intervention_"+name, help, labels, nil)
	}
	return &interventionCollector{read: read, descs: map[string]*prometheus.Desc{
		"interventions": d("interventions_total", "Interventions recorded: pauses, resumes and wellbeing changes."),
		"pauses":        d("pauses_total", "Pauses started."),
		"resumes":       d("resumes_total", "Pauses ended."),
		"blocked":       d("requests_blocked_total", "Requests held by a pause."),
		"waited":        d("requests_waited_total", "Held requests released by a resume."),
		"timedOut":      d("requests_timed_out_total", "Held requests that gave up after wait_timeout."),
		"waiting":       d("requests_waiting", "Requests held right now."),
		"duration":      d("current_pause_duration_seconds", "Age of the oldest pause in effect (0 when none)."),
		"paused":        d("paused", "1 for each pause in effect, by scope (global or a model id).", "scope"),
		"wellbeing":     d("wellbeing", "1 for the current wellbeing state.", "state"),
	}}
}

func (c *interventionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *interventionCollector) Collect(ch chan<- prometheus.Metric) {
	n, st := c.read()
	counter := func(key string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[key], prometheus.CounterValue, v)
	}
	gauge := func(key string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[key], prometheus.GaugeValue, v, labels...)
	}
	counter("interventions", float64(n.InterventionsTotal))
	counter("pauses", float64(n.PausesTotal))
	counter("resumes", float64(n.ResumesTotal))
	counter("blocked", float64(n.RequestsBlocked))
	counter("waited", float64(n.RequestsWaited))
	counter("timedOut", float64(n.RequestsTimedOut))
	gauge("waiting", float64(n.RequestsWaiting))
	gauge("duration", float64(n.CurrentPauseDurationSecs))
	if st.Global != nil {
		gauge("paused", 1, "global")
	}
	for model := range st.Models {
		gauge("paused", 1, model)
	}
	for _, w := range []intervention.Wellbeing{intervention.Healthy, intervention.Cautious, intervention.Concerned, intervention.Distressed} {
		gauge("wellbeing", oneIf(st.Wellbeing == w), w.String())
	}
}
