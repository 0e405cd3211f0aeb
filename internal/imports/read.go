// Package imports reads the files CRMs, ERPs and e-shops export (CSV in any
// common dialect and encoding, JSONL, XLSX), maps their columns onto the
// unified model (by a YAML mapping or by recognising common English and French
// column names), parses their values (dates with per-column day/month
// inference, decimal commas, booleans) and turns each row into contacts,
// orders, products, consents or events.
//
// Invariants: every row read is either turned into a record or reported as
// rejected with its row number, column, masked value and reason; the parsers
// are pure (no I/O beyond the reader they are given) and fuzzed.
package imports

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding/charmap"
)

// Table is a file read into a header and rows of text cells.
type Table struct {
	Header    []string
	Rows      []Row
	Format    string // csv, jsonl, xlsx
	Encoding  string // utf-8, utf-8-bom, utf-16le, utf-16be, windows-1252, iso-8859-15
	Delimiter string // csv only
	Sheet     string // xlsx only
	// Rejects are rows the reader itself could not read (wrong field count,
	// invalid JSON line).
	Rejects []Reject
	// TitleLines counts the lines above the header that were skipped as
	// titles (csv only).
	TitleLines int
}

// Row is one data row: its 1-based line in the file and its cells, aligned
// with Table.Header.
type Row struct {
	Line  int
	Cells []string
}

// ReadOptions override what the reader would detect.
type ReadOptions struct {
	Format    string // csv, xlsx, jsonl; "" sniffs from the name and the bytes
	Encoding  string // "" detects
	Delimiter string // "" sniffs
	Sheet     string // xlsx: sheet name ("" = first)
	NoHeader  bool   // the first row is data
}

// Check refuses options no file could satisfy (an unknown format or
// encoding, a delimiter of several characters), before any byte is read.
func (o ReadOptions) Check() error {
	if f := strings.ToLower(o.Format); f != "" {
		known := false
		for _, x := range formats {
			known = known || slices.Contains(x.names, f)
		}
		if !known {
			return &InputError{Msg: fmt.Sprintf("unknown format %q (want csv, xlsx or jsonl)", o.Format)}
		}
	}
	if o.Encoding != "" {
		if _, _, err := Decode(nil, o.Encoding); err != nil {
			return &InputError{Msg: err.Error()}
		}
	}
	if d := o.Delimiter; d != "" && d != `\t` && !strings.EqualFold(d, "tab") && utf8.RuneCountInString(d) != 1 {
		return &InputError{Msg: fmt.Sprintf("delimiter %q: give one character (or tab)", d)}
	}
	return nil
}

// Read reads a whole file. name is used only to guess the format. data must
// not be changed afterwards: the table's cells may share its memory.
func Read(data []byte, name string, opt ReadOptions) (*Table, error) {
	format := strings.ToLower(opt.Format)
	if format == "" {
		format = guessFormat(data, name)
	}
	for _, f := range formats {
		for _, n := range f.names {
			if n == format {
				return f.read(data, opt)
			}
		}
	}
	return nil, fmt.Errorf("unknown format %q (want csv, xlsx or jsonl)", format)
}

// format is one file format: its names and its reader.
type format struct {
	names []string
	read  func(data []byte, opt ReadOptions) (*Table, error)
}

// formats is the one list of the formats imports read.
var formats = []format{
	{[]string{"csv", "tsv", "txt"}, readCSV},
	{[]string{"xlsx"}, readXLSX},
	{[]string{"jsonl", "ndjson", "json"}, readJSONL},
}

func guessFormat(data []byte, name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".xlsx"):
		return "xlsx"
	case strings.HasSuffix(lower, ".jsonl"), strings.HasSuffix(lower, ".ndjson"):
		return "jsonl"
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return "xlsx"
	}
	if t := bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf"); len(t) > 0 && t[0] == '{' {
		return "jsonl"
	}
	return "csv"
}

// Decode turns the bytes into UTF-8 text and names the encoding it used:
// a BOM decides; otherwise valid UTF-8 is UTF-8, and anything else is read as
// Windows-1252 (a superset of ISO-8859-1 for printable text) or, when forced,
// ISO-8859-15.
func Decode(data []byte, force string) (string, string, error) {
	switch strings.ToLower(strings.ReplaceAll(force, "_", "-")) {
	case "":
	case "utf-8", "utf8":
		s := string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
		if !utf8.ValidString(s) {
			return "", "", errors.New("the file is not valid UTF-8 (try --encoding windows-1252)")
		}
		return s, "utf-8", nil
	case "windows-1252", "cp1252", "latin1", "latin-1", "iso-8859-1":
		s, err := charmap.Windows1252.NewDecoder().Bytes(data)
		return string(s), "windows-1252", err
	case "iso-8859-15", "latin9", "latin-9":
		s, err := charmap.ISO8859_15.NewDecoder().Bytes(data)
		return string(s), "iso-8859-15", err
	case "utf-16", "utf-16le":
		return decodeUTF16(bytes.TrimPrefix(data, []byte{0xff, 0xfe}), false), "utf-16le", nil
	case "utf-16be":
		return decodeUTF16(bytes.TrimPrefix(data, []byte{0xfe, 0xff}), true), "utf-16be", nil
	default:
		return "", "", fmt.Errorf("unknown encoding %q (want utf-8, utf-16le, utf-16be, windows-1252 or iso-8859-15)", force)
	}
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		s := string(data[3:])
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		return s, "utf-8-bom", nil
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		return decodeUTF16(data[2:], false), "utf-16le", nil
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return decodeUTF16(data[2:], true), "utf-16be", nil
	case utf8.Valid(data):
		// The caller hands the bytes over and never changes them: sharing
		// them saves a copy of the whole file (100+ MB for a million rows).
		if len(data) == 0 {
			return "", "utf-8", nil
		}
		return unsafe.String(&data[0], len(data)), "utf-8", nil
	}
	if hasUTF8Sequence(data) {
		// Mostly UTF-8 with some lines that are not (rows pasted from
		// another export): each line is read in the encoding it is valid in.
		var b strings.Builder
		n := 0
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if utf8.Valid(line) {
				b.Write(line)
				continue
			}
			d, err := charmap.Windows1252.NewDecoder().Bytes(line)
			if err != nil {
				return "", "", err
			}
			b.Write(d)
			n++
		}
		return b.String(), fmt.Sprintf("utf-8, with %d line(s) in windows-1252", n), nil
	}
	s, err := charmap.Windows1252.NewDecoder().Bytes(data)
	return string(s), "windows-1252", err
}

// hasUTF8Sequence reports whether data holds a valid multi-byte UTF-8
// sequence: a Windows-1252 file of French text practically never does
// (Ã© would need "Ã" followed by "©").
func hasUTF8Sequence(data []byte) bool {
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r != utf8.RuneError && size > 1 {
			return true
		}
		i++
	}
	return false
}

func decodeUTF16(b []byte, bigEndian bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return string(utf16.Decode(u))
}

// SniffDelimiter picks among , ; tab | the separator that splits the first
// lines (outside quotes) into the same, largest number of fields.
func SniffDelimiter(text string) rune {
	lines := firstLines(text, 10)
	best, bestScore := ',', -1
	for _, d := range []rune{',', ';', '\t', '|'} {
		counts := make([]int, 0, len(lines))
		for _, l := range lines {
			counts = append(counts, countOutsideQuotes(l, d))
		}
		if len(counts) == 0 || counts[0] == 0 {
			continue
		}
		consistent := 0
		for _, c := range counts {
			if c == counts[0] {
				consistent++
			}
		}
		// Consistency over the lines counts most, then the field count.
		score := consistent*1000 + counts[0]
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

// nulCell is the 1-based position of the first field holding a NUL byte, 0
// for none.
func nulCell(rec []string) int {
	for i, c := range rec {
		if strings.IndexByte(c, 0) >= 0 {
			return i + 1
		}
	}
	return 0
}

// titleLines counts the title lines above a header (an export's name and
// date): up to 5 leading lines with at most one non-empty field, followed by
// a line of several fields that the line after it agrees with. 0 when the
// first line already looks like the start of the table.
func titleLines(text string) int {
	lines := firstLines(text, 12)
	if len(lines) < 3 {
		return 0
	}
	// A first line of several fields that agrees with the second starts
	// the table. (Excel pads a title line with delimiters: "Export;;;".)
	d0 := SniffDelimiter(text)
	if n := countOutsideQuotes(lines[0], d0); n > 0 && n == countOutsideQuotes(lines[1], d0) && nonEmptyFields(lines[0], d0) > 1 {
		return 0
	}
	for k := 1; k <= 5 && k < len(lines)-1; k++ {
		d := SniffDelimiter(strings.Join(lines[k:], "\n"))
		n := countOutsideQuotes(lines[k], d)
		if n == 0 || countOutsideQuotes(lines[k+1], d) != n || nonEmptyFields(lines[k], d) < 2 {
			continue
		}
		titles := true
		for _, l := range lines[:k] {
			titles = titles && nonEmptyFields(l, d) <= 1
		}
		if titles {
			return k
		}
	}
	return 0
}

// nonEmptyFields counts the fields of one line that hold something.
func nonEmptyFields(l string, d rune) int {
	r := csv.NewReader(strings.NewReader(l))
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = d, true, -1
	rec, err := r.Read()
	if err != nil {
		return 0
	}
	n := 0
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			n++
		}
	}
	return n
}

// cutLines removes the first k non-blank lines of text (with the blank
// lines among them) and returns the rest and the physical lines removed.
func cutLines(text string, k int) (string, int) {
	lines, seen := 0, 0
	start := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '\n' {
			continue
		}
		lines++
		if strings.TrimSpace(text[start:i]) != "" {
			seen++
		}
		start = i + 1
		if seen == k {
			return text[start:], lines
		}
	}
	return "", lines
}

// firstLines returns up to n logical lines (a quoted newline does not end one).
func firstLines(text string, n int) []string {
	var out []string
	inQ := false
	start := 0
	for i := 0; i < len(text) && len(out) < n; i++ {
		switch text[i] {
		case '"':
			inQ = !inQ
		case '\n':
			if !inQ {
				l := strings.TrimRight(text[start:i], "\r")
				if strings.TrimSpace(l) != "" {
					out = append(out, l)
				}
				start = i + 1
			}
		}
	}
	if len(out) < n && start < len(text) && strings.TrimSpace(text[start:]) != "" {
		out = append(out, text[start:])
	}
	return out
}

func countOutsideQuotes(l string, d rune) int {
	n, inQ := 0, false
	for _, r := range l {
		switch {
		case r == '"':
			inQ = !inQ
		case r == d && !inQ:
			n++
		}
	}
	return n
}

func readCSV(data []byte, opt ReadOptions) (*Table, error) {
	text, enc, err := Decode(data, opt.Encoding)
	if err != nil {
		return nil, err
	}
	if err := checkText(text); err != nil {
		return nil, err
	}
	if strings.Contains(text, "\r") && !strings.Contains(text, "\n") {
		// Lines ended by CR alone (classic Mac OS, some exports).
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	offset := 0 // physical lines cut above the header
	t := &Table{Format: "csv", Encoding: enc}
	if !opt.NoHeader {
		if k := titleLines(text); k > 0 {
			text, offset = cutLines(text, k)
			t.TitleLines = k
		}
	}
	delim := SniffDelimiter(text)
	if opt.Delimiter != "" {
		d := opt.Delimiter
		if d == `\t` || strings.EqualFold(d, "tab") {
			d = "\t"
		}
		if utf8.RuneCountInString(d) != 1 {
			return nil, &InputError{Msg: fmt.Sprintf("delimiter %q: give one character (or tab)", opt.Delimiter)}
		}
		delim, _ = utf8.DecodeRuneInString(d)
	}
	if line, ok := unclosedQuote(text, delim); ok {
		line += offset
		return nil, &InputError{Msg: fmt.Sprintf("line %d: a quoted value opened there is never closed, so every line after it would be read as part of that one value; nothing was imported (close or remove the quote and import again)", line)}
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = delim
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	t.Delimiter = string(delim)
	first := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		line += offset
		if err != nil {
			t.Rejects = append(t.Rejects, Reject{Row: line, Reason: "unreadable CSV row: " + csvErr(err)})
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if col := nulCell(rec); col > 0 {
			if first && !opt.NoHeader {
				return nil, &InputError{Msg: fmt.Sprintf("line %d, the header: field %d holds a NUL byte", line, col)}
			}
			name := ""
			if col <= len(t.Header) {
				name = t.Header[col-1]
			}
			t.Rejects = append(t.Rejects, Reject{Row: line, Column: name,
				Reason: fmt.Sprintf("field %d holds a NUL byte (not text): fix or remove it", col)})
			continue
		}
		if first {
			first = false
			if !opt.NoHeader && looksLikeHeader(rec) {
				t.Header = cleanHeader(rec)
				continue
			}
			t.Header = make([]string, len(rec))
			for i := range rec {
				t.Header[i] = fmt.Sprintf("column_%d", i+1)
			}
		}
		switch {
		case len(rec) > len(t.Header):
			extra := false
			for _, c := range rec[len(t.Header):] {
				if strings.TrimSpace(c) != "" {
					extra = true
				}
			}
			if extra {
				t.Rejects = append(t.Rejects, Reject{Row: line, Reason: fmt.Sprintf("the row has %d fields, the header %d (an unquoted %q inside a value?)", len(rec), len(t.Header), string(delim))})
				continue
			}
			rec = rec[:len(t.Header)]
		case len(rec) < len(t.Header):
			rec = append(rec, make([]string, len(t.Header)-len(rec))...)
		}
		t.Rows = append(t.Rows, Row{Line: line, Cells: rec})
	}
	if t.Header == nil {
		return nil, errors.New("the file is empty")
	}
	return t, nil
}

// checkText refuses files that are not text: a NUL character, or more than
// one control character in 20 among the first 64 KB, means binary data.
func checkText(text string) error {
	sample := text
	if len(sample) > 64<<10 {
		sample = sample[:64<<10]
	}
	ctrl, n, nul, firstNul := 0, 0, 0, -1
	for i, r := range sample {
		n++
		switch {
		case r == 0:
			if nul++; firstNul < 0 {
				firstNul = i
			}
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7f:
			ctrl++
		}
	}
	// A stray NUL in a cell rejects its row (readCSV); many mean a binary file.
	if nul > 10 || nul*20 > n {
		return &InputError{Msg: fmt.Sprintf("the file is not text (%d NUL bytes, the first on line %d): export it as CSV, XLSX or JSONL",
			nul, 1+strings.Count(sample[:firstNul], "\n"))}
	}
	if n > 0 && ctrl*20 > n {
		return &InputError{Msg: fmt.Sprintf("the file is not text (%d control characters in its first %d): export it as CSV, XLSX or JSONL", ctrl, n)}
	}
	return nil
}

// unclosedQuote reports the line where a quoted field opens and never
// closes. It follows the reader's lazy rules: a quote opens a field only at
// the field's start, and closes it only before a delimiter, a line end or
// the end of the text ("" is an escaped quote).
func unclosedQuote(text string, delim rune) (int, bool) {
	line, openLine := 1, 0
	inQuote, fieldStart := false, true
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\n' {
			line++
		}
		if inQuote {
			if c != '"' {
				continue
			}
			if i+1 < len(text) && text[i+1] == '"' {
				i++
				continue
			}
			rest, _ := utf8.DecodeRuneInString(text[i+1:])
			if i+1 == len(text) || rest == delim || text[i+1] == '\n' || text[i+1] == '\r' {
				inQuote = false
			}
			continue
		}
		switch {
		case fieldStart && c == '"':
			inQuote, openLine = true, line
			fieldStart = false
		case c == '\n':
			fieldStart = true
		case rune(c) == delim || (delim >= utf8.RuneSelf && strings.HasPrefix(text[i:], string(delim))):
			fieldStart = true
		default:
			fieldStart = false
		}
	}
	return openLine, inQuote
}

func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// looksLikeHeader says whether a first row names columns rather than holds
// data: no cell is a number, a date or an e-mail, and no cell is empty —
// except trailing empty cells (an ERP's "a;b;c;") when another cell is a
// column name some kind recognises.
func looksLikeHeader(rec []string) bool {
	end := len(rec)
	for end > 0 && strings.TrimSpace(rec[end-1]) == "" {
		end--
	}
	if end < len(rec) {
		known := false
		for _, c := range rec[:end] {
			known = known || knownColumn(c)
		}
		if !known {
			return false
		}
		rec = rec[:end]
	}
	if len(rec) == 0 {
		return false
	}
	for _, c := range rec {
		c = strings.TrimSpace(c)
		if c == "" {
			return false
		}
		if _, err := ParseNumber(c); err == nil {
			return false
		}
		if strings.Contains(c, "@") {
			return false
		}
		if _, _, ok := parseDateGuess(c); ok {
			return false
		}
	}
	return true
}

func cleanHeader(rec []string) []string {
	out := make([]string, len(rec))
	seen := map[string]int{}
	for i, h := range rec {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			h = fmt.Sprintf("column_%d", i+1)
		}
		if n := seen[h]; n > 0 {
			seen[h]++
			h = fmt.Sprintf("%s_%d", h, n+1)
		} else {
			seen[h] = 1
		}
		out[i] = h
	}
	return out
}

// readJSONL reads one JSON object per line; the header is the union of the
// keys in order of first appearance. Nested values are kept as JSON text.
func readJSONL(data []byte, opt ReadOptions) (*Table, error) {
	text, enc, err := Decode(data, opt.Encoding)
	if err != nil {
		return nil, err
	}
	t := &Table{Format: "jsonl", Encoding: enc}
	col := map[string]int{}
	var objs []map[string]string
	var lines []int
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var m map[string]json.RawMessage
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Rejects = append(t.Rejects, Reject{Row: line, Reason: "not a JSON object: " + err.Error()})
			continue
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := make(map[string]string, len(m))
		for _, k := range keys {
			if _, ok := col[k]; !ok {
				col[k] = len(t.Header)
				t.Header = append(t.Header, k)
			}
			o[k] = jsonCell(m[k])
		}
		objs = append(objs, o)
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read JSONL: %w", err)
	}
	for i, o := range objs {
		cells := make([]string, len(t.Header))
		for k, v := range o {
			cells[col[k]] = v
		}
		t.Rows = append(t.Rows, Row{Line: lines[i], Cells: cells})
	}
	if t.Header == nil && len(t.Rejects) == 0 {
		return nil, errors.New("the file is empty")
	}
	return t, nil
}

func jsonCell(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}
