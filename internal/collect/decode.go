package collect

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/model"
)

// Limits.
const (
	MaxMessageBytes = 32 << 10  // one message, as JSON, after decompression
	MaxRequestBytes = 500 << 10 // one request body, after decompression (also caps the compressed body)
)

// Limits on single values, in bytes after decoding.
const (
	maxIDBytes        = 1024 // userId, anonymousId, groupId, previousId, external ids
	maxNameBytes      = 1024 // event, name
	maxMessageIDBytes = 256
)

// Decoder turns collection request bodies into messages. The zero value works
// (wall clock, random UUIDs, DefaultSkewTolerance; a tolerance ≤ 0 also means
// the default). A Decoder is safe for concurrent use when its Now and NewID are.
type Decoder struct {
	Now           func() time.Time // receivedAt source (injected clock); UTC
	NewID         func() string    // messageId for messages that carry none
	SkewTolerance time.Duration    // below this |receivedAt - sentAt| is network delay, not skew (default 60s if zero)
}

// Rejection is one message refused inside an accepted request.
type Rejection struct {
	Index  int    `json:"index"`  // position in the request's batch (0 for single calls)
	Code   string `json:"code"`   // machine-readable: "message_too_large", "missing_field", "invalid_field", "unknown_type", "invalid_json", ...
	Reason string `json:"reason"` // human: what, where and why; never echoes personal data values
}

// RequestError refuses a whole request. Status is the HTTP status to answer
// (400, 413, 415); Message is safe to show the sender (it names fields and
// byte offsets, never values).
type RequestError struct {
	Status  int
	Code    string
	Message string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("collect: %s (%d): %s", e.Code, e.Status, e.Message)
}

// Decoded is one decoded request.
type Decoded struct {
	WriteKey string          // from the body's "writeKey" (top level, or the first message's for batch); empty if none
	Messages []model.Message // accepted messages, in request order
	Index    []int           // Index[i] = position in the request of Messages[i]
	Rejected []Rejection
	Total    int // messages in the request
}

// Decode reads and decodes one request body. endpoint is "batch" or a call type
// ("identify", "track", "page", "screen", "group", "alias"; the one-letter
// short forms are accepted too). contentType and contentEncoding are the
// request headers; body is the raw (possibly gzip) stream.
//
// The error is a *RequestError when the request as a whole is refused; any
// other error comes from reading body (or is a bad endpoint, a programming
// error). Either way nothing was decoded. Otherwise every message of the
// request is either in Messages or in Rejected.
//
// The raw JSON fields of the messages may share memory with each other and
// with the decoded body; they must not be modified.
func (d *Decoder) Decode(endpoint, contentType, contentEncoding string, body io.Reader) (*Decoded, error) {
	var single model.MessageType
	if endpoint != "batch" {
		t, ok := model.ParseMessageType(endpoint)
		if !ok {
			return nil, fmt.Errorf("collect: unknown endpoint %q", endpoint)
		}
		single = t
	}
	if err := checkContentType(contentType); err != nil {
		return nil, err
	}
	data, err := readBody(body, contentEncoding)
	if err != nil {
		return nil, err
	}
	// A UTF-8 byte order mark is not JSON, but some .NET and Windows clients
	// send one; it carries no data.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))

	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	r := &run{
		received: now().UTC().Round(0),
		newID:    d.NewID,
		tol:      d.SkewTolerance,
	}
	if r.newID == nil {
		r.newID = uuid.NewString
	}
	if r.tol <= 0 {
		r.tol = DefaultSkewTolerance
	}
	if single != "" {
		return r.decodeSingle(data, single)
	}
	return r.decodeBatch(data)
}

// checkContentType accepts JSON and text/plain, the type browsers must use for
// navigator.sendBeacon without a CORS preflight. An empty Content-Type is read
// as JSON: several server-side SDKs and curl-based senders omit it, and the
// body is parsed strictly anyway.
func checkContentType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || mt == "text/plain") {
		switch cs := strings.ToLower(params["charset"]); cs {
		case "", "utf-8", "utf8", "us-ascii":
			return nil
		}
		return &RequestError{http.StatusUnsupportedMediaType, "unsupported_media_type",
			"the body must be UTF-8 JSON: use Content-Type application/json (charset utf-8)"}
	}
	return &RequestError{http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Content-Type must be application/json or text/plain"}
}

func errTooLarge() error {
	return &RequestError{http.StatusRequestEntityTooLarge, "request_too_large",
		fmt.Sprintf("the request body is over %d bytes (after decompression); send smaller batches", MaxRequestBytes)}
}

// readBody reads the whole body, decompressing it, within MaxRequestBytes.
func readBody(body io.Reader, encoding string) ([]byte, error) {
	src := &sourceReader{r: io.LimitReader(body, MaxRequestBytes+1)}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		data, err := readAll(src)
		if err != nil {
			return nil, fmt.Errorf("collect: read body: %w", err)
		}
		if len(data) > MaxRequestBytes {
			return nil, errTooLarge()
		}
		return data, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		var data []byte
		if err == nil {
			data, err = readAll(zr)
		}
		switch {
		case src.err != nil:
			return nil, fmt.Errorf("collect: read body: %w", src.err)
		case src.n > MaxRequestBytes || len(data) > MaxRequestBytes:
			return nil, errTooLarge()
		case err != nil:
			return nil, &RequestError{http.StatusBadRequest, "invalid_gzip",
				"the body is not valid gzip (truncated or corrupt); nothing was stored"}
		}
		return data, nil
	}
	return nil, &RequestError{http.StatusUnsupportedMediaType, "unsupported_encoding",
		"Content-Encoding must be gzip or identity"}
}

// readBufs holds buffers of MaxRequestBytes+1 bytes. Reading into one and
// copying out the exact size costs one allocation per request, where
// io.ReadAll grows its buffer about fifteen times for a 500 KB body.
var readBufs = sync.Pool{New: func() any { b := make([]byte, MaxRequestBytes+1); return &b }}

// readAll reads r until EOF or MaxRequestBytes+1 bytes, whichever comes
// first; a longer result tells the caller the limit was passed.
func readAll(r io.Reader) ([]byte, error) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return bytes.Clone(buf[:n]), nil
}

// sourceReader counts the bytes read from the request and keeps the error the
// request itself returned, so that a broken connection is not reported as a
// corrupt gzip stream.
type sourceReader struct {
	r   io.Reader
	n   int
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += n
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

// run holds the state of one Decode call.
type run struct {
	received time.Time
	newID    func() string
	tol      time.Duration

	// Batch-level values, applied to every message.
	batchSent    time.Time
	hasBatchSent bool
	batchCtx     *mergeSource

	memo                [numMemo]memo
	libName, libVersion []byte
	lib                 string
	lastSentRaw         []byte
	lastSent            time.Time
}

func invalidJSON(err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return &RequestError{http.StatusBadRequest, "invalid_json",
			fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Msg)}
	}
	return err
}

// kindName names the JSON type of a value for error messages.
func kindName(v []byte) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// topValue scans data as exactly one JSON value; it reports syntax errors
// before anything else about the body.
func topValue(data []byte) (*scanner, error) {
	s := &scanner{buf: data}
	if s.skipSpace(); s.pos == len(data) {
		return nil, &RequestError{http.StatusBadRequest, "invalid_json", "the body is empty"}
	}
	return s, nil
}

func (s *scanner) end() error {
	s.skipSpace()
	if s.pos != len(s.buf) {
		return invalidJSON(s.fail("invalid character after top-level value"))
	}
	return nil
}

func (r *run) decodeSingle(data []byte, typ model.MessageType) (*Decoded, error) {
	s, err := topValue(data)
	if err != nil {
		return nil, err
	}
	if s.buf[s.pos] != '{' {
		v, _, err := s.span()
		if err == nil {
			err = s.end()
		}
		if err != nil {
			return nil, invalidJSON(err)
		}
		return nil, &RequestError{http.StatusBadRequest, "invalid_body",
			"the body must be a JSON object (the message), not " + kindName(v)}
	}
	var m rawMessage
	if err := s.scanMessage(&m); err != nil {
		return nil, invalidJSON(err)
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	if m.size > MaxMessageBytes {
		return nil, &RequestError{http.StatusRequestEntityTooLarge, "message_too_large",
			fmt.Sprintf("the message is %d bytes, over the limit of %d", m.size, MaxMessageBytes)}
	}
	out := &Decoded{Total: 1}
	if m.writeKey != nil && m.writeKey[0] == '"' {
		out.WriteKey = stringValue(m.writeKey)
	}
	r.add(out, &m, typ)
	return out, nil
}

func (r *run) decodeBatch(data []byte) (*Decoded, error) {
	s, err := topValue(data)
	if err != nil {
		return nil, err
	}
	pooled := rawMessages.Get().(*[]rawMessage)
	defer func() {
		clear(*pooled) // drop references into the body
		*pooled = (*pooled)[:0]
		rawMessages.Put(pooled)
	}()
	var (
		msgs     = *pooled
		haveList bool
		shapeErr error // reported only if the body is valid JSON
		writeKey []byte
		sentAt   []byte
		ctx      []byte
		ctxFlags uint8
	)
	if s.buf[s.pos] != '{' {
		v, _, err := s.span()
		if err != nil {
			return nil, invalidJSON(err)
		}
		shapeErr = &RequestError{http.StatusBadRequest, "invalid_body",
			`the body must be a JSON object with a "batch" array, not ` + kindName(v)}
	} else {
		if err := s.open(); err != nil {
			return nil, invalidJSON(err)
		}
		for i := 0; ; i++ {
			key, ok, err := s.nextKey(i)
			if err != nil {
				return nil, invalidJSON(err)
			}
			if !ok {
				break
			}
			// Only "batch" holds the messages: some SDK docs mention a
			// "messages" alias, but no Segment library sends it.
			switch string(key) {
			case "batch":
				if s.buf[s.pos] != '[' {
					v, _, err := s.span()
					if err != nil {
						return nil, invalidJSON(err)
					}
					haveList = false
					msgs = msgs[:0]
					if v[0] != 'n' {
						shapeErr = &RequestError{http.StatusBadRequest, "invalid_body",
							`"batch" must be an array, not ` + kindName(v)}
					}
					continue
				}
				if msgs, err = s.scanBatch(msgs[:0]); err != nil {
					return nil, invalidJSON(err)
				}
				haveList = true
			case "writeKey":
				writeKey, _, err = s.span()
			case "sentAt":
				sentAt, _, err = s.span()
			case "context":
				ctx, ctxFlags, err = s.span()
			default:
				err = s.skip()
			}
			if err != nil {
				return nil, invalidJSON(err)
			}
		}
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	if shapeErr != nil {
		return nil, shapeErr
	}
	if !haveList {
		return nil, &RequestError{http.StatusBadRequest, "invalid_body", `the body has no "batch" array`}
	}
	if sentAt != nil && !isNull(sentAt) && !isEmptyString(sentAt) {
		t, err := parseTimeValue(sentAt)
		if err != nil {
			return nil, &RequestError{http.StatusBadRequest, "invalid_field",
				`the batch's "sentAt" is invalid: ` + err.Error()}
		}
		r.batchSent, r.hasBatchSent = t, true
	}
	if ctx != nil && !isNull(ctx) {
		if ctx[0] != '{' {
			return nil, &RequestError{http.StatusBadRequest, "invalid_field",
				`the batch's "context" must be an object, not ` + kindName(ctx)}
		}
		r.batchCtx = newMergeSource(clean(ctx, ctxFlags))
	}

	*pooled = msgs
	out := &Decoded{Total: len(msgs)}
	if writeKey != nil && writeKey[0] == '"' {
		out.WriteKey = stringValue(writeKey)
	}
	out.Messages = make([]model.Message, 0, len(msgs))
	out.Index = make([]int, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if out.WriteKey == "" && m.writeKey != nil && m.writeKey[0] == '"' {
			out.WriteKey = stringValue(m.writeKey)
		}
		r.add(out, m, "")
	}
	return out, nil
}

// rawMessages holds the scratch slices of batch decoding.
var rawMessages = sync.Pool{New: func() any { return new([]rawMessage) }}

// scanBatch reads the "batch" array, one rawMessage per element.
func (s *scanner) scanBatch(msgs []rawMessage) ([]rawMessage, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		ok, err := s.element(i)
		if err != nil {
			return nil, err
		}
		if !ok {
			return msgs, nil
		}
		msgs = append(msgs, rawMessage{index: i})
		m := &msgs[len(msgs)-1]
		if s.buf[s.pos] == '{' {
			err = s.scanMessage(m)
		} else {
			var v []byte
			v, _, err = s.span()
			if err == nil {
				m.notObject = kindName(v)
			}
		}
		if err != nil {
			return nil, err
		}
	}
}

// add builds one message and files it as accepted or rejected.
func (r *run) add(out *Decoded, m *rawMessage, endpoint model.MessageType) {
	msg, rej := r.build(m, endpoint)
	if rej != nil {
		rej.Index = m.index
		out.Rejected = append(out.Rejected, *rej)
		return
	}
	out.Messages = append(out.Messages, msg)
	out.Index = append(out.Index, m.index)
}

func isNull(v []byte) bool        { return v[0] == 'n' }
func isEmptyString(v []byte) bool { return len(v) == 2 && v[0] == '"' }

// stringValue decodes a valid JSON string value (quotes included).
func stringValue(v []byte) string {
	b := v[1 : len(v)-1]
	if bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		return string(b)
	}
	return unquote(b, strEscaped|strBroken)
}
