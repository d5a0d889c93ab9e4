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

// stackCPU returns the CPU time (user and system) used so far by this process and
// every process under it — the Temporal server, PostgreSQL — read from /proc, and
// false where /proc cannot be read (not Linux). The difference between two readings is
// what a measurement cost the whole stack, whatever else runs on the machine.
func stackCPU() (time.Duration, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	type proc struct {
		ppid  int
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
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = proc{ppid: ppid, ticks: utime + stime}
	}
	self := os.Getpid()
	if _, ok := procs[self]; !ok {
		return 0, false
	}
	var ticks int64
	for pid, p := range procs {
		for q, hops := pid, 0; q > 1 && hops < 64; q, hops = procs[q].ppid, hops+1 {
			if q == self {
				ticks += p.ticks
				break
			}
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, true
}
