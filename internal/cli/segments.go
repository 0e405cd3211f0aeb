package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/atrium-cdp/atrium/internal/segments"
	"github.com/atrium-cdp/atrium/internal/store"
)

func runSegments(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "segments", args, map[string]func(context.Context, *env, []string) error{
		"create":  segmentsCreate,
		"update":  segmentsUpdate,
		"list":    segmentsList,
		"show":    segmentsShow,
		"preview": segmentsPreview,
		"members": segmentsMembers,
		"overlap": segmentsOverlap,
		"sizes":   segmentsSizes,
		"export":  segmentsExport,
		"delete":  segmentsDelete,
		"refresh": segmentsRefresh,
	})
}

// segService is the segments service over a directly opened workspace.
func segService(t *target) *segments.Service {
	return segments.New(t.db, segments.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// ruleFlags are the ways to give a rule on the command line.
type ruleFlags struct {
	text, file, jsonFile, timeZone string
	description                    optString
}

// optString is a string flag that knows whether it was given (an update
// keeps what is not given; --description "" clears).
type optString struct {
	v   string
	set bool
}

func (o *optString) String() string { return o.v }
func (o *optString) Set(v string) error {
	o.v, o.set = v, true
	return nil
}

func (o *optString) ptr() *string {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}

func (r *ruleFlags) bind(fs *flagSetT) {
	fs.StringVar(&r.text, "rule", "", "the rule in the segment language")
	fs.StringVar(&r.file, "rule-file", "", "read the rule from this file ('-': standard input)")
	fs.StringVar(&r.jsonFile, "rule-json", "", "read the rule's JSON form from this file ('-': standard input)")
	fs.Var(&r.description, "description", "what the segment is for")
	fs.StringVar(&r.timeZone, "time-zone", "", "IANA time zone of the rule's dates (default UTC)")
}

func readLimited(e *env, path string) ([]byte, error) {
	var rd io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usagef("%v", err)
		}
		defer f.Close()
		rd = f
	}
	b, err := io.ReadAll(io.LimitReader(rd, segments.MaxRuleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > segments.MaxRuleBytes {
		return nil, usagef("%s: the rule is longer than %d bytes", path, segments.MaxRuleBytes)
	}
	// Editors on Windows start UTF-8 files with a byte-order mark; it is
	// not part of the rule.
	return bytes.TrimPrefix(b, []byte("\ufeff")), nil
}

// input builds the definition; required says a rule must be given.
func (r *ruleFlags) input(e *env, name string, required bool) (segments.Input, error) {
	in := segments.Input{Name: name, Description: r.description.ptr(), Rule: r.text, TimeZone: r.timeZone}
	n := 0
	for _, s := range []string{r.text, r.file, r.jsonFile} {
		if s != "" {
			n++
		}
	}
	if n > 1 || (required && n == 0) {
		return in, usagef("give the rule once: --rule TEXT, --rule-file FILE or --rule-json FILE")
	}
	if r.file != "" {
		b, err := readLimited(e, r.file)
		if err != nil {
			return in, err
		}
		in.Rule = string(b)
	}
	if r.jsonFile != "" {
		b, err := readLimited(e, r.jsonFile)
		if err != nil {
			return in, err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return in, usagef("%s: the rule's JSON form is not valid JSON: %v (at byte %d)", r.jsonFile, se, se.Offset)
			}
			return in, usagef("%s: the rule's JSON form is not valid JSON: %v", r.jsonFile, err)
		}
		in.RuleJSON = b
	}
	return in, nil
}

// segErr turns a refused definition into a usage error (exit 2) that points
// at the rule's mistake.
func segErr(err error, src string) error {
	var ie *segments.InputError
	if !errors.As(err, &ie) {
		return err
	}
	if ie.Syntax != nil {
		return usagef("%s%s", ie.Msg, caret(src, ie.Syntax.Line, ie.Syntax.Col))
	}
	return usagef("%s: %s", ie.Field, ie.Msg)
}

// caret shows the rule's line with a ^ under the column (1-based).
func caret(src string, line, col int) string {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) || col < 1 {
		return ""
	}
	l := lines[line-1]
	if len(l) > 200 || col > len(l)+1 {
		return ""
	}
	return "\n  " + l + "\n  " + strings.Repeat(" ", col-1) + "^"
}

// call sends a segments request to the running server; a 400 becomes a
// usage error carrying the server's message and position.
func call(ctx context.Context, t *target, method, path string, q url.Values, body, out any, src string) error {
	err := t.server.do(ctx, method, path, q, body, out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		msg := ae.Message
		if p := ae.Position; p != nil {
			msg += caret(src, p.Line, p.Column)
		}
		return usagef("%s", msg)
	}
	return err
}

func segPath(name string, rest ...string) string {
	p := "/api/v1/segments/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func segmentsCreate(ctx context.Context, e *env, args []string) error {
	var rf ruleFlags
	return withTarget(ctx, e, "segments create", args, func(_ *common, fs *flagSetT) { rf.bind(fs) },
		func(t *target, c *common, pos []string) error {
			if len(pos) != 1 {
				return usagef("usage: atrium segments create NAME --rule TEXT | --rule-file FILE | --rule-json FILE [--description TEXT] [--time-zone TZ]")
			}
			in, err := rf.input(e, pos[0], true)
			if err != nil {
				return err
			}
			var s segments.Segment
			if t.server != nil {
				err = call(ctx, t, "POST", "/api/v1/segments", nil, in, &s, in.Rule)
			} else {
				s, err = segService(t).Create(ctx, in)
			}
			if err != nil {
				return segErr(err, in.Rule)
			}
			return printSegment(e, c, s)
		})
}

func segmentsUpdate(ctx context.Context, e *env, args []string) error {
	var rf ruleFlags
	var rename string
	return withTarget(ctx, e, "segments update", args, func(_ *common, fs *flagSetT) {
		rf.bind(fs)
		fs.StringVar(&rename, "name", "", "a new name")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium segments update NAME [--rule TEXT | --rule-file FILE | --rule-json FILE] [--name NEW] [--description TEXT] [--time-zone TZ] (what is not given is kept)")
		}
		in, err := rf.input(e, rename, false)
		if err != nil {
			return err
		}
		var s segments.Segment
		if t.server != nil {
			err = call(ctx, t, "PUT", segPath(pos[0]), nil, in, &s, in.Rule)
		} else {
			s, err = segService(t).Update(ctx, pos[0], in)
		}
		if err != nil {
			return segErr(err, in.Rule)
		}
		return printSegment(e, c, s)
	})
}

func segmentsList(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "segments list", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 0 {
			return usagef("usage: atrium segments list [--json]")
		}
		var list struct {
			Segments []segments.Segment `json:"segments"`
		}
		var err error
		if t.server != nil {
			err = call(ctx, t, "GET", "/api/v1/segments", nil, nil, &list, "")
		} else {
			list.Segments, err = segService(t).List(ctx)
		}
		if err != nil {
			return err
		}
		if c.json {
			if list.Segments == nil {
				list.Segments = []segments.Segment{}
			}
			return printJSON(e.stdout, list)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSIZE\tSTATUS\tCOMPUTED\tRULE")
		for _, s := range list.Segments {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.Name, s.Size, s.Status, when(s.LastComputedAt), oneLine(s.Rule, 60))
		}
		return tw.Flush()
	})
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

func segmentsShow(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "segments show", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium segments show NAME [--json]")
		}
		var s segments.Segment
		var err error
		if t.server != nil {
			err = call(ctx, t, "GET", segPath(pos[0]), nil, nil, &s, "")
		} else {
			s, err = segService(t).Get(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		return printSegment(e, c, s)
	})
}

func printSegment(e *env, c *common, s segments.Segment) error {
	if c.json {
		return printJSON(e.stdout, s)
	}
	fmt.Fprintf(e.stdout, "segment %s (%s)\n", s.Name, s.ID)
	if s.Description != "" {
		fmt.Fprintf(e.stdout, "  description: %s\n", s.Description)
	}
	fmt.Fprintf(e.stdout, "  rule:        %s\n", s.Rule)
	fmt.Fprintf(e.stdout, "  time zone:   %s (time window: %v)\n", s.TimeZone, s.TimeWindow)
	fmt.Fprintf(e.stdout, "  size:        %d\n  status:      %s\n  computed:    %s\n", s.Size, s.Status, when(s.LastComputedAt))
	if s.LastError != "" {
		fmt.Fprintf(e.stdout, "  last error:  %s\n  retries:     %d (next %s)\n", s.LastError, s.Retries, when(s.NextRetryAt))
	}
	return nil
}

func segmentsPreview(ctx context.Context, e *env, args []string) error {
	var rf ruleFlags
	var sample int
	return withTarget(ctx, e, "segments preview", args, func(_ *common, fs *flagSetT) {
		rf.bind(fs)
		fs.IntVar(&sample, "sample", segments.DefaultSample, "profiles to show")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 0 {
			return usagef("usage: atrium segments preview --rule TEXT | --rule-file FILE | --rule-json FILE [--sample N]")
		}
		if sample < 0 || sample > segments.MaxSample {
			return usagef("--sample must be between 0 and %d", segments.MaxSample)
		}
		in, err := rf.input(e, "", true)
		if err != nil {
			return err
		}
		var p segments.Preview
		if t.server != nil {
			body := map[string]any{"rule": in.Rule, "rule_json": in.RuleJSON, "time_zone": in.TimeZone, "sample": sample}
			if len(in.RuleJSON) == 0 {
				delete(body, "rule_json")
			}
			err = call(ctx, t, "POST", "/api/v1/segments/preview", nil, body, &p, in.Rule)
		} else {
			p, err = segService(t).Preview(ctx, in, sample)
		}
		if err != nil {
			return segErr(err, in.Rule)
		}
		if c.json {
			return printJSON(e.stdout, p)
		}
		fmt.Fprintf(e.stdout, "%d profiles match (%d ms)\n", p.Count, p.DurationMS)
		for _, s := range p.Sample {
			b, _ := json.Marshal(s.Traits)
			fmt.Fprintf(e.stdout, "  %s  %s\n", s.ID, b)
		}
		return nil
	})
}

func segmentsMembers(ctx context.Context, e *env, args []string) error {
	var limit int
	var after string
	return withTarget(ctx, e, "segments members", args, func(_ *common, fs *flagSetT) {
		fs.IntVar(&limit, "limit", 100, "members per page")
		fs.StringVar(&after, "after", "", "the last profile id of the previous page")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium segments members NAME [--limit N] [--after ID]")
		}
		if limit < 1 || limit > segments.MaxPage {
			return usagef("--limit must be between 1 and %d", segments.MaxPage)
		}
		var page struct {
			Members []store.SegmentMember `json:"members"`
			Next    *string               `json:"next"`
		}
		var err error
		if t.server != nil {
			err = call(ctx, t, "GET", segPath(pos[0], "members"), url.Values{"limit": {strconv.Itoa(limit)}, "after": {after}}, nil, &page, "")
		} else {
			page.Members, err = segService(t).Members(ctx, pos[0], after, limit)
			if err == nil && len(page.Members) == limit {
				n := page.Members[len(page.Members)-1].ProfileID
				page.Next = &n
			}
		}
		if err != nil {
			return segErr(err, "")
		}
		if c.json {
			return printJSON(e.stdout, page)
		}
		for _, m := range page.Members {
			fmt.Fprintf(e.stdout, "%s\t%s\n", m.ProfileID, m.EnteredAt.Format(time.RFC3339))
		}
		if page.Next != nil {
			fmt.Fprintf(e.stderr, "more: --after %s\n", *page.Next)
		}
		return nil
	})
}

func segmentsOverlap(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "segments overlap", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 2 {
			return usagef("usage: atrium segments overlap NAME_A NAME_B [--json]")
		}
		var o segments.Overlap
		var err error
		if t.server != nil {
			err = call(ctx, t, "GET", segPath(pos[0], "overlap"), url.Values{"with": {pos[1]}}, nil, &o, "")
		} else {
			o, err = segService(t).Overlap(ctx, pos[0], pos[1])
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, o)
		}
		fmt.Fprintf(e.stdout, "|%s| = %d, |%s| = %d, both = %d, Jaccard = %.4f\n", o.A, o.SizeA, o.B, o.SizeB, o.Both, o.Jaccard)
		return nil
	})
}

func segmentsSizes(ctx context.Context, e *env, args []string) error {
	var limit int
	return withTarget(ctx, e, "segments sizes", args, func(_ *common, fs *flagSetT) {
		fs.IntVar(&limit, "limit", 30, "points to show (newest first)")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium segments sizes NAME [--limit N]")
		}
		if limit < 1 || limit > segments.MaxSizes {
			return usagef("--limit must be between 1 and %d", segments.MaxSizes)
		}
		var out struct {
			Sizes []store.SegmentSize `json:"sizes"`
		}
		var err error
		if t.server != nil {
			err = call(ctx, t, "GET", segPath(pos[0], "sizes"), url.Values{"limit": {strconv.Itoa(limit)}}, nil, &out, "")
		} else {
			out.Sizes, err = segService(t).Sizes(ctx, pos[0], limit)
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, out)
		}
		for _, s := range out.Sizes {
			fmt.Fprintf(e.stdout, "%s\t%d\t+%d\t-%d\t%d ms\n", s.At.Format(time.RFC3339), s.Size, s.Entered, s.Exited, s.DurationMS)
		}
		return nil
	})
}

func segmentsExport(ctx context.Context, e *env, args []string) error {
	var format, fields, purpose, out string
	return withTarget(ctx, e, "segments export", args, func(_ *common, fs *flagSetT) {
		fs.StringVar(&format, "format", "csv", "csv, jsonl, meta (Meta custom audience) or google (Customer Match)")
		fs.StringVar(&fields, "fields", "", "comma-separated fields for csv/jsonl: id, email, phone, consent, traits.X, normalized.X, scores.X")
		fs.StringVar(&purpose, "purpose", "", "keep only members who granted this consent purpose (email_marketing, sms, advertising...)")
		fs.StringVar(&out, "out", "-", "output file ('-': standard output)")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium segments export NAME [--format csv|jsonl|meta|google] [--fields a,b] [--purpose P] [--out FILE]")
		}
		fl, err := segments.ParseFields(fields)
		if err != nil {
			return segErr(err, "")
		}
		o := segments.ExportOptions{Format: format, Fields: fl, Purpose: purpose}
		w, done, err := outFile(e, out)
		if err != nil {
			return err
		}
		var res segments.ExportResult
		if t.server != nil {
			res, err = exportRemote(ctx, t, pos[0], o, w)
		} else {
			res, err = segService(t).Export(ctx, pos[0], o, w)
		}
		if cerr := done(err == nil); err == nil {
			err = cerr
		}
		if err != nil {
			return segErr(err, "")
		}
		if c.json {
			return printJSON(e.stderr, res)
		}
		fmt.Fprintf(e.stderr, "exported %d of %d members (excluded: %d without %s consent, %d without a usable e-mail or phone)\n",
			res.Included, res.Members, res.ExcludedConsent, orNone(res.Purpose), res.ExcludedNoContact)
		return nil
	})
}

func orNone(p string) string {
	if p == "" {
		return "a required"
	}
	return p
}

// outFile opens the export's destination: a file is written beside its
// final name and renamed when complete, so a failed export leaves nothing.
func outFile(e *env, path string) (io.Writer, func(ok bool) error, error) {
	if path == "-" {
		return e.stdout, func(bool) error { return nil }, nil
	}
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	return f, func(ok bool) error {
		cerr := f.Close()
		if !ok || cerr != nil {
			os.Remove(tmp)
			return cerr
		}
		return os.Rename(tmp, path)
	}, nil
}

// exportRemote streams an export from the running server; its counts come
// in the response trailers.
func exportRemote(ctx context.Context, t *target, name string, o segments.ExportOptions, w io.Writer) (segments.ExportResult, error) {
	res := segments.ExportResult{Segment: name, Format: o.Format, Purpose: o.Purpose}
	q := url.Values{"format": {o.Format}, "purpose": {o.Purpose}, "fields": {strings.Join(o.Fields, ",")}}
	req, err := http.NewRequestWithContext(ctx, "GET", t.server.base+segPath(name, "export")+"?"+q.Encode(), nil)
	if err != nil {
		return res, err
	}
	req.Header.Set("Authorization", "Bearer "+t.server.token)
	hc := *t.server.hc
	hc.Timeout = 0 // a large export streams for as long as it takes
	resp, err := hc.Do(req)
	if err != nil {
		return res, fmt.Errorf("server unreachable: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			if resp.StatusCode == http.StatusBadRequest {
				return res, usagef("%s", e.Error.Message)
			}
			if resp.StatusCode == http.StatusNotFound {
				return res, &notFoundError{msg: e.Error.Message}
			}
			return res, fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)
		}
		return res, fmt.Errorf("server answered %s", resp.Status)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	inc := resp.Trailer.Get("Atrium-Included")
	if inc == "" {
		return res, errors.New("export: the server stopped before the end (no trailer); the output is incomplete")
	}
	res.Included, _ = strconv.ParseInt(inc, 10, 64)
	res.ExcludedConsent, _ = strconv.ParseInt(resp.Trailer.Get("Atrium-Excluded-Consent"), 10, 64)
	res.ExcludedNoContact, _ = strconv.ParseInt(resp.Trailer.Get("Atrium-Excluded-No-Contact"), 10, 64)
	res.Members = res.Included + res.ExcludedConsent + res.ExcludedNoContact
	return res, nil
}

func segmentsDelete(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "segments delete", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium segments delete NAME")
		}
		var out struct {
			Exited int64 `json:"members_exited"`
		}
		var err error
		if t.server != nil {
			err = call(ctx, t, "DELETE", segPath(pos[0]), nil, nil, &out, "")
		} else {
			out.Exited, err = segService(t).Delete(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted %s (%d members exited)\n", pos[0], out.Exited)
		return nil
	})
}

// segmentsRefresh computes segments once, with the scheduler's function:
// every segment, or the named ones.
func segmentsRefresh(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "segments refresh", args, nil, func(t *target, c *common, pos []string) error {
		var res segments.RefreshResult
		var err error
		if t.server != nil {
			err = call(ctx, t, "POST", "/api/v1/segments/refresh", nil, map[string]any{"names": pos, "all": len(pos) == 0}, &res, "")
		} else {
			svc := segService(t)
			o := segments.RefreshOptions{All: len(pos) == 0}
			for _, n := range pos {
				s, gerr := svc.Get(ctx, n)
				if gerr != nil {
					return gerr
				}
				o.IDs = append(o.IDs, s.ID)
			}
			res, err = svc.Refresh(ctx, o)
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, res)
		}
		failed := 0
		for _, s := range res.Segments {
			if s.Error != "" {
				failed++
				fmt.Fprintf(e.stdout, "%s\tFAILED\t%s\n", s.Name, s.Error)
				continue
			}
			fmt.Fprintf(e.stdout, "%s\t%d members\t+%d\t-%d\t%d ms\n", s.Name, s.Size, s.Entered, s.Exited, s.DurationMS)
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d segments failed (they are retried by the server's scheduler)", failed, len(res.Segments))
		}
		return nil
	})
}
