//go:build !unix

package match

import "time"

// processCPU is unknown here; the bench then reports wall-clock figures only.
func processCPU() time.Duration { return 0 }
