package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/nyaruka/phonenumbers"
	"io"
	"strings"

	"github.com/atrium-cdp/atrium/internal/quality"
	"github.com/atrium-cdp/atrium/internal/quality/rnvp"
)

// qualityMaxLine caps one input line; the rest of a longer line is read and
// discarded, and the normalisers flag the cut (their own caps are lower).
const qualityMaxLine = 64 << 10

// runQuality implements "atrium quality address|email|phone": one value per
// stdin line, one JSON object per stdout line, in order. A bad value still
// gets its object (status invalid, with reasons); only bad flags and I/O
// errors end the command with an error, so scripts can rely on one output
// line per input line.
func runQuality(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: atrium quality address|email|phone [flags] < input")
		return errors.New("quality: missing subcommand")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("quality "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var handle func(line string) any
	switch sub {
	case "address":
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: atrium quality address < addresses")
			fmt.Fprintln(stderr, "One address per line, CRM fields separated by \"|\" in the order typed.")
			fmt.Fprintln(stderr, `Prints {"lines":[L1..L7],"status":…,"reasons":[…]} per line.`)
		}
		handle = func(line string) any {
			r := rnvp.Normalize(strings.Split(line, "|"))
			return qualityAddressOut{Lines: r.Lines, Status: r.Status, Reasons: nonNil(r.Reasons)}
		}
	case "email":
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: atrium quality email < addresses")
			fmt.Fprintln(stderr, `Prints {"value","key","status","reasons","suggestion"} per line.`)
		}
		handle = func(line string) any {
			r := quality.Email(line)
			return qualityValueOut{Value: r.Value, Key: effectiveKey(r), Status: r.Status,
				Reasons: nonNil(r.Reasons), Suggestion: r.Suggestion}
		}
	case "phone":
		region := fs.String("region", quality.DefaultRegion, "default region (ISO 3166-1 alpha-2) for national numbers")
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: atrium quality phone [--region FR] < numbers")
			fmt.Fprintln(stderr, `Prints {"value","key","status","reasons","suggestion","type","region"} per line.`)
			fs.PrintDefaults()
		}
		handle = func(line string) any {
			r := quality.Phone(line, *region)
			return qualityPhoneOut{
				qualityValueOut: qualityValueOut{Value: r.Value, Key: effectiveKey(r.Result), Status: r.Status,
					Reasons: nonNil(r.Reasons), Suggestion: r.Suggestion},
				Type: r.Type, Region: r.Region, Extension: r.Extension,
			}
		}
	case "report":
		return errors.New("quality report: not handled here (needs the store)")
	default:
		fmt.Fprintln(stderr, "usage: atrium quality address|email|phone [flags] < input")
		return fmt.Errorf("quality: unknown subcommand %q", sub)
	}
	if err := fs.Parse(rest); err != nil {
		return fmt.Errorf("quality %s: %w", sub, err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("quality %s: unexpected argument %q (values are read from stdin)", sub, fs.Arg(0))
	}
	if sub == "phone" {
		if r := fs.Lookup("region").Value.String(); len(strings.TrimSpace(r)) != 2 || phonenumbers.GetCountryCodeForRegion(strings.ToUpper(r)) == 0 {
			return usagef("quality phone: --region must be a two-letter ISO 3166-1 country code such as FR, got %q", r)
		}
	}

	out := bufio.NewWriterSize(stdout, 64<<10)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	err := qualityEachLine(ctx, stdin, func(line string) error {
		return enc.Encode(handle(line))
	})
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("quality %s: %w", sub, err)
	}
	return nil
}

type qualityAddressOut struct {
	Lines   [7]string      `json:"lines"`
	Status  quality.Status `json:"status"`
	Reasons []string       `json:"reasons"`
}

type qualityValueOut struct {
	Value      string         `json:"value"`
	Key        string         `json:"key"`
	Status     quality.Status `json:"status"`
	Reasons    []string       `json:"reasons"`
	Suggestion string         `json:"suggestion"`
}

type qualityPhoneOut struct {
	qualityValueOut
	Type      string `json:"type,omitempty"`
	Region    string `json:"region,omitempty"`
	Extension string `json:"extension,omitempty"`
}

// effectiveKey is the key to match on: Result.Key when it differs from the
// value, else the value itself.
func effectiveKey(r quality.Result) string {
	if r.Key != "" {
		return r.Key
	}
	return r.Value
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// qualityEachLine calls fn for every line of r (without its "\r\n" or
// "\n"), a final unterminated line included. Lines over qualityMaxLine are
// cut rather than failing the whole run. It stops on ctx cancellation.
func qualityEachLine(ctx context.Context, r io.Reader, fn func(string) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(buf)+len(chunk) <= qualityMaxLine {
			buf = append(buf, chunk...)
		} else if len(buf) < qualityMaxLine {
			buf = append(buf, chunk[:qualityMaxLine-len(buf)]...)
		}
		if isPrefix {
			continue
		}
		line := strings.TrimSuffix(string(buf), "\r")
		buf = buf[:0]
		if err := fn(line); err != nil {
			return err
		}
	}
}
