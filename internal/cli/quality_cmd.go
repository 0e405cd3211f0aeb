package cli

import (
	"context"
	"errors"
)

func runQualityCmd(ctx context.Context, e *env, args []string) error {
	return errors.New("not wired yet")
}

func benchQuality(ctx context.Context, e *env, args []string) error {
	return errors.New("not wired yet")
}
