// Package collect receives Segment-spec tracking calls (identify, track, page,
// screen, group, alias and batch), so that every Segment or RudderStack SDK
// can send to Atrium unchanged.
//
// The decoder (Decoder.Decode) turns one request body into model.Messages. It
// does no I/O besides reading the body, and keeps these invariants:
//
//   - A request is refused whole (a *RequestError with its HTTP status: 400,
//     413 or 415) only when it cannot be read as a whole: wrong media type or
//     encoding, over MaxRequestBytes, broken gzip, invalid JSON, or a body of
//     the wrong shape. Then nothing is decoded.
//   - Otherwise every message of the request is either accepted or rejected
//     with its index and a reason: len(Messages)+len(Rejected) == Total. One
//     bad message never refuses its neighbours.
//   - No output string, map key or raw JSON field holds invalid UTF-8, and no
//     raw JSON holds a lone UTF-16 surrogate escape ("\ud83d"): both are
//     replaced with U+FFFD, as encoding/json does for decoded strings. Raw JSON
//     fields (Properties, Context, Integrations, Consent.Raw) are compact,
//     valid JSON objects. Identifiers never hold NUL.
//   - Every time is UTC. Timestamp is corrected for client clock skew (see
//     correctTime), but never for mere network delay, so that one device's
//     events keep their order however late a batch arrives.
//   - Error messages and rejection reasons name fields, sizes and offsets,
//     never the values sent, which may be personal data.
//
// Numbers inside traits decode to json.Number, not float64, so that a
// customer or phone number sent as a JSON number keeps every digit.
package collect
