package config

import (
	"fmt"
	"strconv"
	"strings"

	"custos/internal/memory"
)

// Footprint is the model's expected memory once loaded: its override
// (memory:), else the estimate from its GGUF file for the context and
// slots its backend is given; ok is false when neither is known (a
// llama-server cmd that does not load ${MODEL}).
func (m *Model) Footprint() (bytes int64, detail string, ok bool) {
	if m.Memory > 0 {
		return m.Memory, memory.FormatBytes(m.Memory) + " (memory: in the configuration)", true
	}
	if m.Info == nil {
		return 0, "", false
	}
	f := memory.Estimate(*m.Info, m.contextSize(), m.slots())
	return f.Total, f.String(), true
}

// contextSize is the context its backend is given (-c, --ctx-size), or 0
// for the backend's default.
func (m *Model) contextSize() int {
	n, _ := flagInt(m.Args, "-c", "--ctx-size")
	return n
}

// slots is how many sequences its backend decodes at once: -np/--parallel
// in args, else max_concurrency for the runner (custos passes it), else 1.
func (m *Model) slots() int {
	if n, ok := flagInt(m.Args, "-np", "--parallel"); ok {
		return n
	}
	if m.Backend == BackendRunner {
		return m.MaxConcurrency
	}
	return 1
}

// flagInt reads an integer flag given as "-x N" or "-x=N"; the last wins.
func flagInt(args []string, names ...string) (int, bool) {
	value, found := "", false
	for i, a := range args {
		for _, n := range names {
			switch {
			case a == n && i+1 < len(args):
				value, found = args[i+1], true
			case strings.HasPrefix(a, n+"="):
				value, found = strings.TrimPrefix(a, n+"="), true
			}
		}
	}
	n, err := strconv.Atoi(value)
	return n, found && err == nil
}

// validateBudget fills in the memory budget and refuses models that can
// never fit in it: one larger than the whole budget, or models that must
// all be loaded at once (pinned, or loaded at startup) and together exceed
// it.
func validateBudget(c *Config, p *problems) {
	if c.Resources.MemoryAuto {
		total, err := memory.MachineMemory()
		if err != nil {
			p.add("resources.memory", "auto: cannot read the machine's memory (%v); give a size such as 16GiB", err)
			return
		}
		c.Resources.Memory = memory.AutoBudget(total)
	}
	if c.Resources.GPUMemory > 0 {
		p.add("resources.gpu_memory", "is not enforced yet: custos places models by the machine's memory only; remove the key")
	}
	budget := c.Resources.Memory
	var together int64
	var names []string
	for i := range c.Models {
		m := &c.Models[i]
		need, detail, ok := m.Footprint()
		if !ok {
			continue
		}
		if need > budget {
			p.add("models."+m.ID, "needs %s, more than the whole memory budget (resources.memory: %s): %s",
				memory.FormatBytes(need), memory.FormatBytes(budget), detail)
			continue
		}
		if m.Pinned || m.Load == LoadStartup {
			together += need
			names = append(names, m.ID)
		}
	}
	if together > budget && len(names) > 1 {
		p.add("resources.memory", "the models loaded at startup or pinned (%s) need %s together, more than the budget of %s; "+
			"load some on demand (load: on_demand) or raise resources.memory", strings.Join(names, ", "),
			memory.FormatBytes(together), memory.FormatBytes(budget))
	}
	for i := range c.Models {
		m := &c.Models[i]
		if m.Pinned && m.TTL > 0 {
			p.add(fmt.Sprintf("models.%s.ttl", m.ID), "a pinned model is never unloaded for idleness; drop ttl or pinned")
		}
	}
}
