package cli

import "context"

// runQualityCmd dispatches "atrium quality <address|email|phone|report>".
func runQualityCmd(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "report" {
		return qualityReport(ctx, e, args[1:])
	}
	return runQuality(ctx, args, e.stdin, e.stdout, e.stderr)
}

func benchQuality(ctx context.Context, e *env, args []string) error {
	return runBenchQuality(ctx, args, e.stdout)
}
