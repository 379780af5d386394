package memory

import "testing"

const gib = 1 << 30

// meminfoSample is the head of a real /proc/meminfo.
const meminfoSample = `MemTotal:       24683548 kB
MemFree:        24006900 kB
MemAvailable:   24287936 kB
Buffers:           10240 kB
`

func TestParseMemTotal(t *testing.T) {
	got, err := parseMemTotal(meminfoSample)
	if err != nil || got != 24683548<<10 {
		t.Errorf("parseMemTotal(sample) = %d, %v; want %d", got, err, int64(24683548)<<10)
	}
	// MemTotal is looked for anywhere, not only on the first line.
	if got, err := parseMemTotal("MemFree: 1 kB\nMemTotal: 2048 kB\n"); err != nil || got != 2<<20 {
		t.Errorf("MemTotal on the second line: %d, %v", got, err)
	}
	for _, bad := range []string{
		"",
		"MemFree:        24006900 kB\n",
		"MemTotal:       many kB\n",
		"MemTotal:       24683548\n",
		"MemTotal:       24683548 MB\n",
		"MemTotal:       -5 kB\n",
		"MemTotal:       0 kB\n",
		"MemTotal:       99999999999999999999 kB\n",
	} {
		if got, err := parseMemTotal(bad); err == nil {
			t.Errorf("parseMemTotal(%q) = %d, want an error", bad, got)
		}
	}
}

// The machine running the tests has some memory, and the budget leaves
// headroom on it.
func TestMachineMemory(t *testing.T) {
	total, err := MachineMemory()
	if err != nil {
		t.Fatal(err)
	}
	if total < 64<<20 {
		t.Fatalf("MachineMemory() = %d, less than any Linux runs in", total)
	}
	if budget := AutoBudget(total); budget < 0 || budget > total-gib {
		t.Errorf("AutoBudget(%d) = %d", total, budget)
	}
}

func TestAutoBudget(t *testing.T) {
	cases := []struct{ total, want int64 }{
		{0, 0},
		{512 << 20, 0},                // less than the headroom: nothing to spare
		{gib, 0},                      // exactly the headroom
		{2 * gib, gib},                // 1 GiB is more than 10 %
		{10 * gib, 9 * gib},           // where the two rules meet
		{20 * gib, 18 * gib},          // 10 % from here on
		{24683548 << 10, 22748357837}, // 23.5 GiB less 2.4 GiB
	}
	for _, c := range cases {
		if got := AutoBudget(c.total); got != c.want {
			t.Errorf("AutoBudget(%s) = %s (%d), want %s (%d)", FormatBytes(c.total), FormatBytes(got), got,
				FormatBytes(c.want), c.want)
		}
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	if p, ok := parseCgroupPath("12:cpu:/x\n0::/system.slice/custos.service\n"); !ok || p != "/system.slice/custos.service" {
		t.Fatalf("path %q %v", p, ok)
	}
	if p, ok := parseCgroupPath("0::/\n"); !ok || p != "" {
		t.Fatalf("root path %q %v", p, ok)
	}
	if _, ok := parseCgroupPath("4:memory:/docker/abc\n"); ok {
		t.Fatal("a v1 hierarchy has no memory.max")
	}
	if n, ok := parseMemoryMax("8589934592\n"); !ok || n != 8<<30 {
		t.Fatalf("limit %d %v", n, ok)
	}
	if _, ok := parseMemoryMax("max\n"); ok {
		t.Fatal(`"max" is no limit`)
	}
}
