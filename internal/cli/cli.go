// Package cli implements the atrium commands. Every command takes --data DIR
// (default ./atrium-data, or $ATRIUM_DATA) and, where it prints results,
// --json; errors go to stderr with a non-zero exit code.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a command may use: its streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func commands() map[string]command {
	return map[string]command{
		"demo":         {"build a demo workspace from bundled public data, run the whole pipeline and serve it", runDemo},
		"init":         {"create a workspace: schema, a first source and an admin API token", runInit},
		"serve":        {"run the collection API, the REST API and the workers", runServe},
		"profiles":     {"read profiles (get, lookup, events, merges) and merge or unmerge them", runProfiles},
		"sources":      {"create, list and revoke sources and their write keys", runSources},
		"tokens":       {"create, list and revoke API tokens", runTokens},
		"settings":     {"read or replace the identity rules (limits, priorities, placeholders, id and set-once traits)", runSettings},
		"import":       {"import contacts, orders, products, consents or events from CSV, XLSX or JSONL files", runImport},
		"dedupe":       {"find duplicate profiles (merge, review queue, golden records) and evaluate the matching", runDedupe},
		"scores":       {"fit the CLV models (BG/NBD, Gamma-Gamma) on the workspace's orders", runScores},
		"quality":      {"normalise and validate e-mails, phones and French postal addresses", runQualityCmd},
		"segments":     {"create, preview, refresh and export dynamic segments (members, overlap, sizes)", runSegments},
		"destinations": {"create, list and delete webhook destinations; list, replay and test their deliveries", runDestinations},
		"bench":        {"measure whole-system performance (ingest, quality)", runBench},
		"version":      {"print the version", runVersion},
	}
}

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// Run executes one command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "atrium: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, e, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "atrium %s: %s\n", args[0], ue.msg)
			return 2
		}
		fmt.Fprintf(stderr, "atrium %s: %s\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: atrium <command> [flags]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'atrium <command> -h' for a command's flags.")
}

// usageError is a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

type flagSetT = flag.FlagSet

// common holds the flags every command shares.
type common struct {
	data string
	json bool
}

// flags returns a flag set with --data and --json bound to c.
func (c *common) flags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("atrium "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	def := os.Getenv("ATRIUM_DATA")
	if def == "" {
		def = "./atrium-data"
	}
	fs.StringVar(&c.data, "data", def, "workspace data folder (env ATRIUM_DATA)")
	fs.BoolVar(&c.json, "json", false, "print results as JSON")
	return fs
}

// parse parses args allowing flags after positional arguments, and returns the
// positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func runVersion(_ context.Context, e *env, _ []string) error {
	fmt.Fprintln(e.stdout, "atrium", Version)
	return nil
}

// sub dispatches "<group> <sub> args" to the named function.
func sub(ctx context.Context, e *env, group string, args []string, subs map[string]func(context.Context, *env, []string) error) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 {
		return usagef("usage: atrium %s <%s> [flags]", group, strings.Join(names, "|"))
	}
	f, ok := subs[args[0]]
	if !ok {
		return usagef("unknown subcommand %q (want one of %s)", args[0], strings.Join(names, ", "))
	}
	return f(ctx, e, args[1:])
}
