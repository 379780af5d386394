package config

import (
	"os"
	"strings"
)

// adapterFiles are the LoRA adapters the model's command line loads: the files of --lora FNAME[,FNAME...]
// and --lora-scaled FNAME:SCALE[,...], in the "-x V" and "-x=V" forms, as llama-server and custos runner
// read them.
func (m *Model) adapterFiles() []string {
	var files []string
	args := m.flags()
	for i, a := range args {
		for _, name := range []string{"--lora", "--lora-scaled"} {
			var value string
			switch {
			case a == name && i+1 < len(args):
				value = args[i+1]
			case strings.HasPrefix(a, name+"="):
				value = strings.TrimPrefix(a, name+"=")
			default:
				continue
			}
			for _, entry := range strings.Split(value, ",") {
				if name == "--lora-scaled" {
					if j := strings.LastIndexByte(entry, ':'); j >= 0 {
						entry = entry[:j]
					}
				}
				if entry != "" {
					files = append(files, entry)
				}
			}
		}
	}
	return files
}

// validateAdapters checks that every adapter the command line loads can be read, so that a missing file is
// a configuration error rather than a backend that never starts, and keeps their sizes for the model's
// footprint: llama.cpp reads an adapter's tensors into buffers of its own.
func validateAdapters(m *Model, path string, p *problems) {
	key := path + ".args"
	if m.Backend == BackendLlamaServer {
		key = path + ".cmd"
	}
	m.adapterBytes = 0
	for _, file := range m.adapterFiles() {
		info, err := os.Stat(file)
		if err != nil || !info.Mode().IsRegular() {
			p.add(key, "the LoRA adapter %s does not exist or is not a file", file)
			continue
		}
		m.adapterBytes += info.Size()
	}
}
