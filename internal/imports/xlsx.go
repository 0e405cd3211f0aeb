package imports

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// readXLSX reads the first sheet (or the named one). Cells come as Excel
// shows them unformatted (raw values), so dates arrive as serial numbers,
// which the date parser understands.
func readXLSX(data []byte, opt ReadOptions) (*Table, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a readable XLSX file: %w", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, errors.New("the workbook has no sheet")
	}
	sheet := sheets[0]
	if opt.Sheet != "" {
		sheet = ""
		for _, s := range sheets {
			if strings.EqualFold(s, opt.Sheet) {
				sheet = s
			}
		}
		if sheet == "" {
			return nil, fmt.Errorf("no sheet %q (the workbook has %s)", opt.Sheet, strings.Join(sheets, ", "))
		}
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, fmt.Errorf("read sheet %s: %w", sheet, err)
	}
	defer rows.Close()
	t := &Table{Format: "xlsx", Encoding: "utf-8"}
	line := 0
	for rows.Next() {
		line++
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			t.Rejects = append(t.Rejects, Reject{Row: line, Reason: "unreadable row: " + err.Error()})
			continue
		}
		empty := true
		for _, c := range rec {
			if strings.TrimSpace(c) != "" {
				empty = false
			}
		}
		if empty {
			continue
		}
		if t.Header == nil {
			if !opt.NoHeader && looksLikeHeader(rec) {
				t.Header = cleanHeader(rec)
				continue
			}
			t.Header = make([]string, len(rec))
			for i := range rec {
				t.Header[i] = fmt.Sprintf("column_%d", i+1)
			}
		}
		if len(rec) > len(t.Header) {
			rec = rec[:len(t.Header)]
		}
		if len(rec) < len(t.Header) {
			rec = append(rec, make([]string, len(t.Header)-len(rec))...)
		}
		t.Rows = append(t.Rows, Row{Line: line, Cells: rec})
	}
	if t.Header == nil {
		return nil, fmt.Errorf("sheet %s is empty", sheet)
	}
	t.Sheet = sheet
	return t, nil
}
