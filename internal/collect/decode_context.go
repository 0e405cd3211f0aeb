package collect

import (
	"bytes"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/model"
)

// contextFields holds the raw values of the context keys Atrium extracts,
// found in the same pass that validates the context. Their types are checked
// when they are read: a context key of the wrong type is ignored (the whole
// context is stored as sent), never a rejection.
type contextFields struct {
	traits, consent, externalIDs                            []byte
	userAgent, ip, sessionID                                []byte
	pageURL, pagePath, pageReferrer, pageTitle, pageSearch  []byte
	libName, libVersion                                     []byte
	campSource, campMedium, campName, campTerm, campContent []byte
	hasCampaign                                             bool
}

// propertiesFields holds the raw values of the properties that stand in for
// context fields (page calls, and sessions from some SDKs).
type propertiesFields struct {
	url, path, referrer, title, search, sessionID []byte
}

// scanContext reads the context object at s.pos.
func (s *scanner) scanContext(c *contextFields) error {
	if err := s.open(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		key, ok, err := s.nextKey(i)
		if err != nil || !ok {
			return err
		}
		var dst *[]byte
		switch string(key) {
		case "traits":
			dst = &c.traits
		case "consent":
			dst = &c.consent
		case "externalIds":
			dst = &c.externalIDs
		case "userAgent":
			dst = &c.userAgent
		case "ip":
			dst = &c.ip
		case "sessionId":
			dst = &c.sessionID
		case "page":
			c.pageURL, c.pagePath, c.pageReferrer, c.pageTitle, c.pageSearch = nil, nil, nil, nil, nil
			err = s.subObject(c, subPage)
		case "library":
			c.libName, c.libVersion = nil, nil
			err = s.subObject(c, subLibrary)
		case "campaign":
			c.campSource, c.campMedium, c.campName, c.campTerm, c.campContent = nil, nil, nil, nil, nil
			c.hasCampaign = s.buf[s.pos] == '{'
			err = s.subObject(c, subCampaign)
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
}

// The context objects whose members scanContext keeps.
const (
	subPage = iota
	subLibrary
	subCampaign
)

// subObject reads the value at s.pos; when it is an object, the members that
// c.slot names are kept in c.
func (s *scanner) subObject(c *contextFields, sub int) error {
	if s.buf[s.pos] != '{' {
		return s.skip()
	}
	if err := s.open(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		key, ok, err := s.nextKey(i)
		if err != nil || !ok {
			return err
		}
		if p := c.slot(sub, key); p != nil {
			*p, _, err = s.span()
		} else {
			err = s.skip()
		}
		if err != nil {
			return err
		}
	}
}

// slot returns where to keep the member key of the context object sub.
func (c *contextFields) slot(sub int, key []byte) *[]byte {
	switch sub {
	case subPage:
		switch string(key) {
		case "url":
			return &c.pageURL
		case "path":
			return &c.pagePath
		case "referrer":
			return &c.pageReferrer
		case "title":
			return &c.pageTitle
		case "search":
			return &c.pageSearch
		}
	case subLibrary:
		switch string(key) {
		case "name":
			return &c.libName
		case "version":
			return &c.libVersion
		}
	case subCampaign:
		switch string(key) {
		case "source":
			return &c.campSource
		case "medium":
			return &c.campMedium
		case "name":
			return &c.campName
		case "term":
			return &c.campTerm
		case "content":
			return &c.campContent
		}
	}
	return nil
}

// scanProperties reads the properties object at s.pos.
func (s *scanner) scanProperties(p *propertiesFields) error {
	if err := s.open(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		key, ok, err := s.nextKey(i)
		if err != nil || !ok {
			return err
		}
		var dst *[]byte
		switch string(key) {
		case "url":
			dst = &p.url
		case "path":
			dst = &p.path
		case "referrer":
			dst = &p.referrer
		case "title":
			dst = &p.title
		case "search":
			dst = &p.search
		case "session_id":
			dst = &p.sessionID
		}
		if dst != nil {
			*dst, _, err = s.span()
		} else {
			err = s.skip()
		}
		if err != nil {
			return err
		}
	}
}

// extract fills the fields of msg that come from its context (and, for page
// calls and sessions, from its properties).
func (r *run) extract(msg *model.Message, c *contextFields, p *propertiesFields) {
	msg.UserAgent = r.memo[memoUserAgent].str(c.userAgent)
	msg.IP = r.memo[memoIP].str(c.ip)
	msg.SessionID = r.memo[memoSession].scalar(c.sessionID)
	if msg.SessionID == "" {
		msg.SessionID = scalarString(p.sessionID)
	}
	msg.Library = r.library(c.libName, c.libVersion)
	msg.Page = model.PageInfo{
		URL:      r.memo[memoURL].str(c.pageURL),
		Path:     r.memo[memoPath].str(c.pagePath),
		Referrer: r.memo[memoReferrer].str(c.pageReferrer),
		Title:    r.memo[memoTitle].str(c.pageTitle),
		Search:   r.memo[memoSearch].str(c.pageSearch),
	}
	if msg.Type == model.Page {
		fallback(&msg.Page.URL, p.url)
		fallback(&msg.Page.Path, p.path)
		fallback(&msg.Page.Referrer, p.referrer)
		fallback(&msg.Page.Title, p.title)
		fallback(&msg.Page.Search, p.search)
	}
	if c.hasCampaign {
		msg.Campaign = model.Campaign{
			Source:  r.memo[memoSource].str(c.campSource),
			Medium:  r.memo[memoMedium].str(c.campMedium),
			Name:    r.memo[memoCampaign].str(c.campName),
			Term:    r.memo[memoTerm].str(c.campTerm),
			Content: r.memo[memoContent].str(c.campContent),
		}
	} else {
		msg.Campaign = campaignFromURL(msg.Page.URL)
	}
	if isObject(c.traits) {
		msg.ContextTraits = decodeMap(c.traits)
	}
	if isObject(c.consent) {
		msg.Consent = consent(c.consent)
	}
	if c.externalIDs != nil && c.externalIDs[0] == '[' {
		msg.ExternalIDs = externalIDs(c.externalIDs)
	}
}

// Memo slots: the context values that repeat from one message of a request
// to the next (one browser sends a batch; its user agent, page and campaign
// rarely change within it).
const (
	memoUserAgent = iota
	memoIP
	memoSession
	memoURL
	memoPath
	memoReferrer
	memoTitle
	memoSearch
	memoSource
	memoMedium
	memoCampaign
	memoTerm
	memoContent
	memoEvent
	numMemo
)

// memo remembers the last raw value decoded in one slot, so that a value the
// previous message also sent costs a comparison instead of an allocation.
type memo struct {
	raw []byte
	s   string
}

func (m *memo) str(v []byte) string {
	if v == nil || v[0] != '"' {
		return ""
	}
	if !bytes.Equal(v, m.raw) {
		m.raw, m.s = v, stringValue(v)
	}
	return m.s
}

func (m *memo) scalar(v []byte) string {
	if v == nil || v[0] == '"' {
		return m.str(v)
	}
	return scalarString(v)
}

// library returns context.library as "name/version" (or "name").
func (r *run) library(name, version []byte) string {
	if name == nil || name[0] != '"' {
		return ""
	}
	if bytes.Equal(name, r.libName) && bytes.Equal(version, r.libVersion) {
		return r.lib
	}
	lib := stringValue(name)
	if lib != "" && version != nil && version[0] == '"' && len(version) > 2 {
		lib += "/" + stringValue(version)
	}
	r.libName, r.libVersion, r.lib = name, version, lib
	return lib
}

func isObject(v []byte) bool { return v != nil && v[0] == '{' }

func fallback(dst *string, v []byte) {
	if *dst == "" {
		*dst = str(v)
	}
}

// str decodes a raw string value; anything else (absent, null, another type)
// gives "".
func str(v []byte) string {
	if v == nil || v[0] != '"' {
		return ""
	}
	return stringValue(v)
}

// scalarString reads a string, or a number as its decimal string (session ids
// are often epoch milliseconds sent as numbers).
func scalarString(v []byte) string {
	if v != nil && (v[0] == '-' || isDigit(v[0])) {
		s, _ := numberString(v)
		return s
	}
	return str(v)
}

// fields calls fn for each member of a valid JSON object; later duplicates
// are seen after earlier ones, so the last wins as in encoding/json.
func fields(obj []byte, fn func(key []byte, v []byte)) {
	s := &scanner{buf: obj}
	if s.open() != nil {
		return
	}
	for i := 0; ; i++ {
		key, ok, err := s.nextKey(i)
		if err != nil || !ok {
			return
		}
		v, _, err := s.span()
		if err != nil {
			return
		}
		fn(key, v)
	}
}

// consent reads context.consent. Categories holds the entries of
// categoryPreferences whose value is a boolean; others are left out (the raw
// object keeps them). Without a categoryPreferences object there are no
// preferences to record.
func consent(raw []byte) *model.ConsentPreferences {
	var prefs []byte
	fields(raw, func(k []byte, v []byte) {
		if string(k) == "categoryPreferences" {
			prefs = v
		}
	})
	if !isObject(prefs) {
		return nil
	}
	cats := make(map[string]bool)
	fields(prefs, func(k []byte, v []byte) {
		switch v[0] {
		case 't':
			cats[string(k)] = true
		case 'f':
			cats[string(k)] = false
		}
	})
	// raw is a part of a context that clean already made compact and valid
	// only if the context needed no cleaning; clean it on its own.
	return &model.ConsentPreferences{Categories: cats, Raw: clean(raw, flagSpace|flagRepair)}
}

// externalIDs reads context.externalIds, skipping entries that are not
// objects with a usable id and a type.
func externalIDs(arr []byte) []model.ExternalID {
	s := &scanner{buf: arr}
	if s.open() != nil {
		return nil
	}
	var out []model.ExternalID
	for i := 0; ; i++ {
		ok, err := s.element(i)
		if err != nil || !ok {
			return out
		}
		v, _, err := s.span()
		if err != nil {
			return out
		}
		if !isObject(v) {
			continue
		}
		var id, typ, coll []byte
		fields(v, func(k []byte, v []byte) {
			switch string(k) {
			case "id":
				id = v
			case "type":
				typ = v
			case "collection":
				coll = v
			}
		})
		e := model.ExternalID{ID: scalarString(id), Type: str(typ), Collection: str(coll)}
		if e.ID == "" || e.Type == "" || len(e.ID) > maxIDBytes || len(e.Type) > maxIDBytes ||
			strings.IndexByte(e.ID, 0) >= 0 {
			continue
		}
		out = append(out, e)
	}
}

// campaignFromURL reads the utm_* parameters of a page URL, for senders that
// do not fill context.campaign themselves.
func campaignFromURL(u string) model.Campaign {
	var c model.Campaign
	if !strings.Contains(u, "utm_") {
		return c
	}
	_, q, ok := strings.Cut(u, "?")
	if !ok {
		return c
	}
	q, _, _ = strings.Cut(q, "#")
	vals, _ := url.ParseQuery(q) // keeps what parses
	get := func(k string) string {
		// Percent-decoding can produce invalid UTF-8.
		return strings.ToValidUTF8(vals.Get(k), string(utf8.RuneError))
	}
	c.Source = get("utm_source")
	c.Medium = get("utm_medium")
	c.Name = get("utm_campaign")
	c.Term = get("utm_term")
	c.Content = get("utm_content")
	return c
}

// mergeSource is a batch-level context, ready to be merged under each
// message's context.
type mergeSource struct {
	obj     []byte
	keys    []string
	members [][]byte // `"key":value`, compact
}

// newMergeSource indexes a compact, clean JSON object.
func newMergeSource(obj []byte) *mergeSource {
	m := &mergeSource{obj: obj}
	s := &scanner{buf: obj}
	if s.open() != nil {
		return m
	}
	for i := 0; ; i++ {
		start := s.pos
		if i > 0 {
			start++ // the comma
		}
		key, ok, err := s.nextKey(i)
		if err != nil || !ok {
			return m
		}
		if s.skip() != nil {
			return m
		}
		m.keys = append(m.keys, string(key))
		m.members = append(m.members, obj[start:s.pos])
	}
}

// mergeUnder returns ctx (a compact, clean object, or nil) with the batch
// members whose keys ctx lacks appended: the message's own keys win. The merge
// is shallow: a message's context.library replaces the batch's whole.
func (m *mergeSource) mergeUnder(ctx []byte) []byte {
	if ctx == nil {
		return m.obj
	}
	own := make(map[string]bool)
	fields(ctx, func(k []byte, _ []byte) { own[string(k)] = true })
	out := make([]byte, 0, len(ctx)+len(m.obj))
	out = append(out, ctx[:len(ctx)-1]...)
	n := len(own)
	for i, k := range m.keys {
		if own[k] {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, m.members[i]...)
		n++
	}
	return append(out, '}')
}
