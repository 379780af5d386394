package memory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// ErrNoProcess means that no process belongs to the process group: the
// backend has exited.
var ErrNoProcess = errors.New("memory: no process in process group")

// GroupRSS is the memory a loaded backend really takes, measured as the
// resident memory of its process group: the sum of the resident set sizes
// of every process whose process group is pgid. Backends lead a process
// group of their own (internal/supervisor/process.go), so whatever a
// backend command starts is counted with it. Resident memory includes the
// pages of memory-mapped files that have been read, so a llama.cpp backend's
// model file counts once loaded, as Estimate's Weights do; pages that
// several processes of the group share (libraries, a file two of them map)
// count once for each, so the sum errs high.
func GroupRSS(pgid int) (int64, error) {
	totals, err := GroupsRSS([]int{pgid})
	if err != nil {
		return 0, err
	}
	if _, ok := totals[pgid]; !ok {
		return 0, fmt.Errorf("%w %d", ErrNoProcess, pgid)
	}
	return totals[pgid], nil
}

// GroupsRSS is GroupRSS for several groups at once, in one reading of
// /proc: each group's total, for the groups that have a process.
func GroupsRSS(pgids []int) (map[int]int64, error) {
	members, err := groupsMembers("/proc", pgids, int64(os.Getpagesize()))
	if err != nil {
		return nil, err
	}
	totals := map[int]int64{}
	for pgid, procs := range members {
		for _, rss := range procs {
			totals[pgid] = sum(totals[pgid], rss)
		}
	}
	return totals, nil
}

// groupMembers maps each process of group pgid found under root (a proc(5)
// file system) to its resident set size in bytes. A process that exits
// while it is read is left out; an empty group is ErrNoProcess.
func groupMembers(root string, pgid int, pageSize int64) (map[int]int64, error) {
	members, err := groupsMembers(root, []int{pgid}, pageSize)
	if err != nil {
		return nil, err
	}
	if len(members[pgid]) == 0 {
		return nil, fmt.Errorf("%w %d", ErrNoProcess, pgid)
	}
	return members[pgid], nil
}

// groupsMembers maps each of pgids to its processes found under root, and
// each process to its resident set size in bytes, in one pass over root.
func groupsMembers(root string, pgids []int, pageSize int64) (map[int]map[int]int64, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	members := map[int]map[int]int64{}
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil || pid <= 0 {
			continue // not a process: self, meminfo, sys, ...
		}
		stat, err := os.ReadFile(filepath.Join(root, entry.Name(), "stat"))
		if exited(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
		pgrp, err := parseStatPgrp(string(stat))
		if err != nil {
			return nil, fmt.Errorf("memory: process %d: %w", pid, err)
		}
		if !slices.Contains(pgids, pgrp) {
			continue
		}
		statm, err := os.ReadFile(filepath.Join(root, entry.Name(), "statm"))
		if exited(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
		pages, err := parseStatmResident(string(statm))
		if err != nil {
			return nil, fmt.Errorf("memory: process %d: %w", pid, err)
		}
		if members[pgrp] == nil {
			members[pgrp] = map[int]int64{}
		}
		members[pgrp][pid] = product(pages, pageSize)
	}
	return members, nil
}

// exited reports whether a read of a process's /proc file failed because
// the process is gone: its folder disappears (ENOENT), or a file opened
// just before it exited reads as ESRCH.
func exited(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// parseStatPgrp reads the process group from the text of /proc/<pid>/stat,
// "pid (comm) state ppid pgrp ..." (proc(5)). The command name may hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStatPgrp(stat string) (int, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("stat %q has no command name", stat)
	}
	fields := strings.Fields(stat[end+1:])
	if len(fields) < 3 {
		return 0, fmt.Errorf("stat %q ends before the process group", stat)
	}
	pgrp, err := strconv.Atoi(fields[2])
	if err != nil {
		return 0, fmt.Errorf("stat %q: process group %q is not a number", stat, fields[2])
	}
	return pgrp, nil
}

// parseStatmResident reads the resident set size, in pages, from the text
// of /proc/<pid>/statm, "size resident shared text lib data dt" (proc(5)).
func parseStatmResident(statm string) (int64, error) {
	fields := strings.Fields(statm)
	if len(fields) < 2 {
		return 0, fmt.Errorf("statm %q ends before the resident size", statm)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil || pages < 0 {
		return 0, fmt.Errorf("statm %q: resident size %q is not a page count", statm, fields[1])
	}
	return pages, nil
}
