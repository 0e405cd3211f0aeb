package cli

import (
	"context"
	"errors"
)

func runQualityCmd(ctx context.Context, e *env, args []string) error {
	return errors.New("not wired yet")
}

func runBench(ctx context.Context, e *env, args []string) error {
	return errors.New("not wired yet")
}
