package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuSample is a reading of a process's CPU time and the machine's.
type cpuSample struct {
	at          time.Time
	proc        float64 // seconds of CPU used by the process (user+system)
	self        float64 // the same for this benchmark process
	busy, total float64 // machine-wide jiffies: busy and all
}

// clockTicks is USER_HZ, 100 on every Linux the benchmark targets.
const clockTicks = 100

func sampleCPU(pid int) cpuSample {
	s := cpuSample{at: time.Now(), proc: procCPU(pid), self: procCPU(os.Getpid())}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseFloat(v, 64)
			s.total += n
			if i != 3 && i != 4 { // idle, iowait
				s.busy += n
			}
		}
	}
	return s
}

// procCPU reads a process's user+system CPU seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at state.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b)[i+1:])
	if len(f) <= 12 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// cpuUse describes the interval between two samples: the process's CPU use in
// cores and the whole machine's busy share.
func cpuUse(a, b cpuSample, cores int) string {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 || b.total <= a.total {
		return "cpu not measured"
	}
	return fmt.Sprintf("wpbridge used %.2f cores, the benchmark process (senders, fake AC, proxy) %.2f; machine %.0f%% busy (%d cores, all processes)",
		(b.proc-a.proc)/wall, (b.self-a.self)/wall, 100*(b.busy-a.busy)/(b.total-a.total), cores)
}
