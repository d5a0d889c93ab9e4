package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux the benchmark runs on).
const clockTicks = 100

// stackCPUBy returns the CPU time (user and system) used so far by this process and
// every process under it, read from /proc, by part of the stack: "bench" is this
// process (worker, API, fakes and load generator), any other key the command name of a
// child of it (the Temporal server, "postgres") with every process under that child;
// false where /proc cannot be read (not Linux). The difference between two readings is
// what a measurement cost the stack, whatever else runs on the machine.
func stackCPUBy() (map[string]time.Duration, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	type proc struct {
		ppid  int
		comm  string
		ticks int64
	}
	procs := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// The command name, in parentheses, may hold spaces: the fields follow its ')'.
		i := strings.LastIndexByte(string(b), ')')
		j := strings.IndexByte(string(b), '(')
		if i < 0 || j < 0 || j > i {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = proc{ppid: ppid, comm: string(b[j+1 : i]), ticks: utime + stime}
	}
	self := os.Getpid()
	if _, ok := procs[self]; !ok {
		return nil, false
	}
	by := map[string]time.Duration{}
	for pid, p := range procs {
		// Walk up to this process; the part is the child of it on the way.
		part, found := "", false
		for q, child, hops := pid, 0, 0; q > 1 && hops < 64; q, child, hops = procs[q].ppid, q, hops+1 {
			if q == self {
				part, found = "bench", true
				if child != 0 {
					part = procs[child].comm
				}
				break
			}
		}
		if found {
			by[part] += time.Duration(p.ticks) * time.Second / clockTicks
		}
	}
	return by, true
}
