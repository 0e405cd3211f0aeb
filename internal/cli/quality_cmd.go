package cli

import (
	"context"
	"flag"
	"fmt"
)

const qualityUsage = `usage: atrium quality <address|email|phone|report> [flags]
  address   one address per line on stdin, CRM fields separated by "|"; prints lines L1..L7, status, reasons
  email     one e-mail per line on stdin; prints value, key, status, reasons, suggestion
  phone     one number per line on stdin [--region FR]; prints value (E.164), key, status, reasons, type
  report    share of valid, corrected, suspect and invalid values per field over the workspace's profiles [--json]`

// runQualityCmd dispatches "atrium quality <address|email|phone|report>".
func runQualityCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("%s", qualityUsage)
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(e.stderr, qualityUsage)
		return flag.ErrHelp
	case "report":
		return qualityReport(ctx, e, args[1:])
	}
	return runQuality(ctx, args, e.stdin, e.stdout, e.stderr)
}

func benchQuality(ctx context.Context, e *env, args []string) error {
	return runBenchQuality(ctx, args, e.stdout)
}
