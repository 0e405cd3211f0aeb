package collect

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/model"
)

// rawMessage is one message as found in the body: each field is its raw JSON
// value (nil when the key is absent). Nothing is interpreted until build, since
// "type" may come after the fields whose meaning depends on it.
type rawMessage struct {
	index     int
	size      int    // bytes of the message's JSON
	notObject string // set when the batch element is not an object: its kind

	typ, messageID, anonymousID, userID, previousID, groupID []byte
	event, name, timestamp, originalTimestamp, sentAt        []byte
	writeKey                                                 []byte

	properties, context, traits, integrations rawObject

	ctx   contextFields    // found in context, when it is an object
	props propertiesFields // found in properties, when it is an object
}

// rawObject is a raw value expected to be an object, with the scan flags
// found inside it.
type rawObject struct {
	v     []byte
	flags uint8
}

// scanMessage reads the message object at s.pos into m, validating all of it.
func (s *scanner) scanMessage(m *rawMessage) error {
	start := s.pos
	if err := s.open(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		key, ok, err := s.nextKey(i)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		var dst *[]byte
		switch string(key) {
		case "type":
			dst = &m.typ
		case "messageId":
			dst = &m.messageID
		case "anonymousId":
			dst = &m.anonymousID
		case "userId":
			dst = &m.userID
		case "previousId":
			dst = &m.previousID
		case "groupId":
			dst = &m.groupID
		case "event":
			dst = &m.event
		case "name":
			dst = &m.name
		case "timestamp":
			dst = &m.timestamp
		case "originalTimestamp":
			dst = &m.originalTimestamp
		case "sentAt":
			dst = &m.sentAt
		case "writeKey":
			dst = &m.writeKey
		case "properties":
			m.props = propertiesFields{}
			err = s.object(&m.properties, func() error { return s.scanProperties(&m.props) })
		case "context":
			m.ctx = contextFields{}
			err = s.object(&m.context, func() error { return s.scanContext(&m.ctx) })
		case "traits":
			err = s.object(&m.traits, nil)
		case "integrations":
			err = s.object(&m.integrations, nil)
		default:
			err = s.skip()
		}
		if dst != nil {
			*dst, _, err = s.span()
		}
		if err != nil {
			return err
		}
	}
	m.size = s.pos - start
	return nil
}

// object reads a value that should be an object into o, calling scan (when
// not nil) to read the object itself.
func (s *scanner) object(o *rawObject, scan func() error) error {
	saved := s.flags
	s.flags = 0
	start := s.pos
	var err error
	if scan != nil && s.buf[s.pos] == '{' {
		err = scan()
	} else {
		err = s.skip()
	}
	o.v, o.flags = s.buf[start:s.pos], s.flags
	s.flags |= saved
	return err
}

func reject(code, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// build checks one message and turns it into a model.Message. endpoint is the
// call type of a single-call endpoint, empty for batch.
func (r *run) build(m *rawMessage, endpoint model.MessageType) (model.Message, *Rejection) {
	var msg model.Message
	if m.notObject != "" {
		return msg, reject("invalid_json", "the batch element is %s, not a message object", m.notObject)
	}
	if m.size > MaxMessageBytes {
		return msg, reject("message_too_large", "the message is %d bytes, over the limit of %d", m.size, MaxMessageBytes)
	}

	// Type.
	typ := endpoint
	switch {
	case present(m.typ) && m.typ[0] != '"':
		return msg, reject("unknown_type", `"type" must be a string, not %s`, kindName(m.typ))
	case present(m.typ):
		t, ok := model.ParseMessageType(stringValue(m.typ))
		switch {
		case !ok && endpoint == "":
			return msg, reject("unknown_type", `"type" is not one of identify, track, page, screen, group, alias`)
		case !ok || (endpoint != "" && t != endpoint):
			return msg, reject("invalid_field", `"type" does not match the endpoint /v1/%s`, endpoint)
		}
		typ = t
	case endpoint == "":
		return msg, reject("missing_field", `"type" is missing`)
	}
	msg.Type = typ

	// Identifiers and names. Fields that the type does not use are ignored.
	var rej *Rejection
	if msg.MessageID, rej = idValue("messageId", m.messageID, maxMessageIDBytes); rej != nil {
		return msg, rej
	}
	if msg.UserID, rej = idValue("userId", m.userID, maxIDBytes); rej != nil {
		return msg, rej
	}
	if msg.AnonymousID, rej = idValue("anonymousId", m.anonymousID, maxIDBytes); rej != nil {
		return msg, rej
	}
	switch typ {
	case model.Alias:
		msg.PreviousID, rej = idValue("previousId", m.previousID, maxIDBytes)
	case model.Group:
		msg.GroupID, rej = idValue("groupId", m.groupID, maxIDBytes)
	case model.Track:
		if m.event != nil && bytes.Equal(m.event, r.memo[memoEvent].raw) {
			msg.Event = r.memo[memoEvent].s
		} else if msg.Event, rej = nameValue("event", m.event); rej == nil {
			r.memo[memoEvent] = memo{m.event, msg.Event}
		}
	case model.Page, model.Screen:
		msg.Name, rej = nameValue("name", m.name)
	}
	if rej != nil {
		return msg, rej
	}

	// Objects. Top-level traits belong to identify and group only.
	if msg.Properties, rej = objectValue("properties", m.properties); rej != nil {
		return msg, rej
	}
	if msg.Context, rej = objectValue("context", m.context); rej != nil {
		return msg, rej
	}
	if msg.Integrations, rej = objectValue("integrations", m.integrations); rej != nil {
		return msg, rej
	}
	var traits []byte
	if (typ == model.Identify || typ == model.Group) && present(m.traits.v) {
		if traits = m.traits.v; traits[0] != '{' {
			return msg, reject("invalid_field", `"traits" must be an object, not %s`, kindName(traits))
		}
	}

	// Required fields. An id of only white space is no id: it is kept as
	// sent when another id carries the message, but cannot carry it alone.
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	switch typ {
	case model.Alias:
		if blank(msg.PreviousID) {
			return msg, reject("missing_field", `alias needs "previousId"`)
		}
		if blank(msg.UserID) {
			return msg, reject("missing_field", `alias needs "userId"`)
		}
	default:
		if blank(msg.UserID) && blank(msg.AnonymousID) {
			return msg, reject("missing_field", `%s needs "userId" or "anonymousId"`, typ)
		}
		if typ == model.Group && blank(msg.GroupID) {
			return msg, reject("missing_field", `group needs "groupId"`)
		}
		if typ == model.Track && blank(msg.Event) {
			return msg, reject("missing_field", `track needs a non-empty "event"`)
		}
	}

	// Times.
	var ct clientTimes
	var orig time.Time
	var hasOrig bool
	if ct.event, ct.hasEvent, rej = timeValue("timestamp", m.timestamp); rej != nil {
		return msg, rej
	}
	if orig, hasOrig, rej = timeValue("originalTimestamp", m.originalTimestamp); rej != nil {
		return msg, rej
	}
	if m.sentAt != nil && bytes.Equal(m.sentAt, r.lastSentRaw) {
		ct.sent, ct.hasSent = r.lastSent, true // one batch, one sentAt
	} else if ct.sent, ct.hasSent, rej = timeValue("sentAt", m.sentAt); rej != nil {
		return msg, rej
	} else if ct.hasSent {
		r.lastSentRaw, r.lastSent = m.sentAt, ct.sent
	}
	// The event time is timestamp; a client that sends only
	// originalTimestamp (the device time, in Segment's own output) means the
	// same thing by it.
	if !ct.hasEvent && hasOrig {
		ct.event, ct.hasEvent = orig, true
	}
	if !ct.hasSent && r.hasBatchSent {
		ct.sent, ct.hasSent = r.batchSent, true
	}
	if ct.hasEvent {
		msg.OriginalTimestamp = ct.event
	}
	msg.SentAt = ct.sent
	msg.ReceivedAt = r.received
	msg.Timestamp, msg.SkewMillis = correctTime(r.received, ct, r.tol)

	if msg.MessageID == "" {
		msg.MessageID = r.newID()
	}

	// Context, possibly merged with the batch's.
	ctx := m.ctx
	if r.batchCtx != nil {
		msg.Context = r.batchCtx.mergeUnder(msg.Context)
		ctx = contextFields{}
		_ = (&scanner{buf: msg.Context}).scanContext(&ctx)
	}
	r.extract(&msg, &ctx, &m.props)

	// Traits.
	if typ == model.Identify || typ == model.Group {
		if traits != nil {
			msg.Traits = decodeMap(traits)
		} else if typ == model.Identify && msg.ContextTraits != nil {
			// analytics.js puts the traits it knows in context.traits
			msg.Traits = maps.Clone(msg.ContextTraits)
		}
	}
	return msg, nil
}

// present reports whether a value was sent and is not null: SDKs send null
// for what they do not know (analytics.js sends "userId": null for visitors).
func present(v []byte) bool { return v != nil && v[0] != 'n' }

// idValue reads an identifier: a string, or a number, which SDKs write as its
// decimal string. The value is not trimmed: the identity layer decides what a
// blank id means.
func idValue(field string, v []byte, max int) (string, *Rejection) {
	if !present(v) {
		return "", nil
	}
	var s string
	switch c := v[0]; {
	case c == '"':
		s = stringValue(v)
	case c == '-' || isDigit(c):
		var ok bool
		if s, ok = numberString(v); !ok {
			return "", reject("invalid_field", `"%s" is a number too large to be an id`, field)
		}
	default:
		return "", reject("invalid_field", `"%s" must be a string or a number, not %s`, field, kindName(v))
	}
	if len(s) > max {
		return "", reject("invalid_field", `"%s" is %d bytes, over the limit of %d`, field, len(s), max)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", reject("invalid_field", `"%s" contains a NUL character`, field)
	}
	return s, nil
}

// nameValue reads an event or page name, which must be a string.
func nameValue(field string, v []byte) (string, *Rejection) {
	if !present(v) {
		return "", nil
	}
	if v[0] != '"' {
		return "", reject("invalid_field", `"%s" must be a string, not %s`, field, kindName(v))
	}
	s := stringValue(v)
	if max := maxNameBytes; len(s) > max {
		return "", reject("invalid_field", `"%s" is %d bytes, over the limit of %d`, field, len(s), max)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", reject("invalid_field", `"%s" contains a NUL character`, field)
	}
	return s, nil
}

// objectValue checks a value that must be an object and returns it compact
// and clean; absent or null gives nil.
func objectValue(field string, o rawObject) ([]byte, *Rejection) {
	if !present(o.v) {
		return nil, nil
	}
	if o.v[0] != '{' {
		return nil, reject("invalid_field", `"%s" must be an object, not %s`, field, kindName(o.v))
	}
	return clean(o.v, o.flags), nil
}

// timeValue reads a timestamp field; absent, null and "" give ok=false.
func timeValue(field string, v []byte) (t time.Time, ok bool, rej *Rejection) {
	if !present(v) || isEmptyString(v) {
		return t, false, nil
	}
	t, err := parseTimeValue(v)
	if err != nil {
		return t, false, reject("invalid_field", `"%s" is invalid: %v`, field, err)
	}
	return t, true, nil
}

// numberString writes a JSON number as a decimal string, the way JavaScript's
// String(n) does for ordinary values: an integer literal is kept digit for
// digit (ids beyond 2^53 included), 1.5e3 becomes "1500".
func numberString(v []byte) (string, bool) {
	plain := true
	for i, c := range v {
		if !isDigit(c) && (c != '-' || i != 0) {
			plain = false
			break
		}
	}
	if plain {
		return string(v), true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// decodeMap decodes a valid JSON object.
func decodeMap(v []byte) map[string]any {
	m, err := (&scanner{buf: v}).decodeObject()
	if err != nil {
		return nil
	}
	return m
}
