package memory

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// MachineMemory is the memory custos and its backends may use, in bytes:
// MemTotal of /proc/meminfo, or less when custos runs in a cgroup (a
// container, a systemd unit with MemoryMax=) whose memory.max limits it.
func MachineMemory() (int64, error) {
	text, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("memory: %w", err)
	}
	total, err := parseMemTotal(string(text))
	if err != nil {
		return 0, err
	}
	if limit, ok := cgroupLimit(); ok {
		total = min(total, limit)
	}
	return total, nil
}

// cgroupLimit is the memory.max of the cgroup (v2) custos runs in, if it
// sets one.
func cgroupLimit() (int64, bool) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	path, ok := parseCgroupPath(string(self))
	if !ok {
		return 0, false
	}
	text, err := os.ReadFile("/sys/fs/cgroup" + path + "/memory.max")
	if err != nil {
		return 0, false
	}
	return parseMemoryMax(string(text))
}

// parseCgroupPath reads the v2 entry ("0::/system.slice/custos.service")
// of /proc/self/cgroup.
func parseCgroupPath(text string) (string, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok && strings.HasPrefix(path, "/") {
			return strings.TrimRight(path, "/"), true
		}
	}
	return "", false
}

// parseMemoryMax reads memory.max: a byte count, or "max" for no limit.
func parseMemoryMax(text string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	return n, err == nil && n > 0
}

// parseMemTotal reads MemTotal from the text of /proc/meminfo, where it is
// given in kibibytes ("MemTotal:       24683896 kB", proc(5)).
func parseMemTotal(meminfo string) (int64, error) {
	for line := range strings.SplitSeq(meminfo, "\n") {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("memory: /proc/meminfo: want MemTotal in kB, got %q", line)
		}
		kib, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kib <= 0 || kib > math.MaxInt64>>10 {
			return 0, fmt.Errorf("memory: /proc/meminfo: MemTotal %q is not a size", fields[0])
		}
		return kib << 10, nil
	}
	return 0, errors.New("memory: /proc/meminfo has no MemTotal")
}

// The headroom AutoBudget keeps for everything but the models: the kernel
// and system services (a few hundred MiB on a minimal Linux), custos serve
// itself, and page cache for the files that are not models (custos's
// state store, logs, the backends' binaries). 1 GiB covers that on a small
// machine; on a large one the kernel's own bookkeeping grows with memory
// (64 bytes of struct page per 4 KiB page is 1.6 %, plus page tables and
// slab) and so does what else tends to run, hence the 10 %.
const (
	minHeadroom     = 1 << 30
	headroomDivisor = 10
)

// AutoBudget is the default memory budget for models on a machine with
// total bytes: total less the larger of 1 GiB and 10 %, or 0 when that
// leaves nothing.
func AutoBudget(total int64) int64 {
	return max(total-max(minHeadroom, total/headroomDivisor), 0)
}
