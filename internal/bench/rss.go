// Package bench measures whole-system figures (the `atrium bench` command).
// Every benchmark reports, beside its own rate, the rate of the engine's own
// limit measured in the same run, and the ratio of the two.
package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a benchmark ran.
type Machine struct {
	CPUs     int    `json:"cpus"`
	MemoryMB int64  `json:"memory_mb"`
	GoOS     string `json:"goos"`
	GoArch   string `json:"goarch"`
	Go       string `json:"go"`
}

// ThisMachine reads the machine's size.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH, Go: runtime.Version()}
	m.MemoryMB = procKB("/proc/meminfo", "MemTotal:") / 1024
	return m
}

// PeakRSSMB returns the process's peak resident set size (VmHWM), in MB.
func PeakRSSMB() float64 { return float64(procKB("/proc/self/status", "VmHWM:")) / 1024 }

func procKB(file, key string) int64 {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, key) {
			fields := strings.Fields(line[len(key):])
			if len(fields) > 0 {
				n, _ := strconv.ParseInt(fields[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
