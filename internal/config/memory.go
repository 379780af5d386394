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
	f := memory.Estimate(*m.Info, m.contextSize(), m.slots()).WithAdapters(m.adapterBytes)
	return f.Total, f.String(), true
}

// flags is the backend's command line as the model gives it: a
// llama-server's cmd, then args.
func (m *Model) flags() []string { return append(append([]string(nil), m.Cmd...), m.Args...) }

// contextSize is the context its backend is given (-c, --ctx-size), or 0
// for the backend's default.
func (m *Model) contextSize() int {
	n, _ := flagInt(m.flags(), "-c", "--ctx-size")
	return n
}

// slots is how many sequences its backend decodes at once: -np/--parallel
// in cmd or args, else max_concurrency for the runner (custos passes it),
// else 1.
func (m *Model) slots() int {
	if n, ok := flagInt(m.flags(), "-np", "--parallel"); ok {
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
// never fit in it: an on-demand model larger than the budget, or than what
// the pinned models leave; with a budget set in the file, any model larger
// than it, and startup or pinned models that together exceed it. With the
// default (auto) budget, models loaded at startup are not refused: a
// configuration that served before the budget existed serves as it did.
func validateBudget(c *Config, p *problems) {
	if c.Resources.MemoryAuto {
		total, err := memory.MachineMemory()
		if err != nil {
			p.add("resources.memory", "auto: cannot read the machine's memory (%v); give a size such as 16GiB", err)
			return
		}
		c.Resources.Memory = memory.AutoBudget(total)
	}
	budget, explicit := c.Resources.Memory, !c.Resources.MemoryAuto
	var together, pinned int64
	var names []string
	for i := range c.Models {
		m := &c.Models[i]
		need, _, ok := m.Footprint()
		if !ok {
			continue
		}
		if m.Pinned {
			pinned += need
		}
		if m.Pinned || m.Load == LoadStartup {
			together += need
			names = append(names, m.ID)
		}
	}
	for i := range c.Models {
		m := &c.Models[i]
		need, detail, ok := m.Footprint()
		switch {
		case !ok:
		case need > budget && (explicit || m.Load == LoadOnDemand):
			p.add("models."+m.ID, "needs %s, more than the whole memory budget (resources.memory: %s): %s",
				memory.FormatBytes(need), memory.FormatBytes(budget), detail)
		case m.Load == LoadOnDemand && !m.Pinned && need > budget-pinned:
			p.add("models."+m.ID, "needs %s, more than the %s the pinned models leave of the memory budget (%s)",
				memory.FormatBytes(need), memory.FormatBytes(budget-pinned), memory.FormatBytes(budget))
		}
	}
	if explicit && together > budget && len(names) > 1 {
		p.add("resources.memory", "the models loaded at startup or pinned (%s) need %s together, more than the budget of %s; "+
			"load some on demand (load: on_demand) or raise resources.memory", strings.Join(names, ", "),
			memory.FormatBytes(together), memory.FormatBytes(budget))
	}
	validateGPUBudget(c, p)
	for i := range c.Models {
		m := &c.Models[i]
		if m.Pinned && m.TTL > 0 {
			p.add(fmt.Sprintf("models.%s.ttl", m.ID), "a pinned model is never unloaded for idleness; drop ttl or pinned")
		}
	}
}

// GPUFootprint is what the model takes on GPUs: its override (gpu_memory:),
// else, for a backend that offloads layers (-ngl, --n-gpu-layers,
// --gpu-layers in args), the offloaded share of its weights and KV cache
// plus its compute buffers, which move to the GPU with them. The estimate
// of the machine's memory is kept whole: llama.cpp may keep the mapped
// file resident too, so counting it once more errs on the safe side.
func (m *Model) GPUFootprint() int64 {
	if m.GPUMemory > 0 {
		return m.GPUMemory
	}
	layers, ok := flagInt(m.flags(), "-ngl", "--n-gpu-layers", "--gpu-layers")
	if !ok || layers <= 0 || m.Info == nil || m.Info.BlockCount <= 0 {
		return 0
	}
	f := memory.Estimate(*m.Info, m.contextSize(), m.slots())
	share := min(float64(layers)/float64(m.Info.BlockCount), 1)
	return int64(float64(f.Weights+f.KVCache)*share) + f.Compute
}

// validateGPUBudget refuses models that can never fit in the GPU budget.
func validateGPUBudget(c *Config, p *problems) {
	budget := c.Resources.GPUMemory
	if budget <= 0 {
		return
	}
	var together int64
	for i := range c.Models {
		m := &c.Models[i]
		need := m.GPUFootprint()
		if need > budget {
			p.add("models."+m.ID, "needs %s of GPU memory, more than the whole GPU budget (resources.gpu_memory: %s)",
				memory.FormatBytes(need), memory.FormatBytes(budget))
			continue
		}
		if m.Pinned || m.Load == LoadStartup {
			together += need
		}
	}
	if together > budget {
		p.add("resources.gpu_memory", "the models loaded at startup or pinned need %s of GPU memory together, more than the budget of %s",
			memory.FormatBytes(together), memory.FormatBytes(budget))
	}
}
