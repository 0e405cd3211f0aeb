//go:build unix

package match

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) the process has used so far;
// the bench divides work by it so that a busy shared machine does not count
// against the matcher.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
