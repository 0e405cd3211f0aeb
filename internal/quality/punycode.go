package quality

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Punycode (RFC 3492) with the IDNA parameters. golang.org/x/net/idna is not
// a dependency of Atrium, and e-mail domains only need the encoder: labels
// are NFC-normalised and lower-cased before encoding, which covers what
// mailbox providers accept (full UTS #46 mapping is out of scope).
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

var errPunycode = errors.New("punycode: overflow")

func pcAdapt(delta, numPoints int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := 0
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}

func pcDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

// punycodeLabel encodes one label (without the "xn--" prefix).
func punycodeLabel(label string) (string, error) {
	var b strings.Builder
	runes := make([]rune, 0, len(label))
	for _, r := range label {
		runes = append(runes, r)
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		}
	}
	basic := b.Len()
	h := basic
	if basic > 0 {
		b.WriteByte('-')
	}
	n, delta, bias := pcInitialN, 0, pcInitialBias
	for h < len(runes) {
		m := int(^uint32(0) >> 1)
		for _, r := range runes {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		if (m-n)*(h+1) < 0 || delta+(m-n)*(h+1) < delta {
			return "", errPunycode
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range runes {
			if int(r) < n {
				delta++
				if delta <= 0 {
					return "", errPunycode
				}
			}
			if int(r) == n {
				q := delta
				for k := pcBase; ; k += pcBase {
					t := k - bias
					if t < pcTMin {
						t = pcTMin
					} else if t > pcTMax {
						t = pcTMax
					}
					if q < t {
						break
					}
					b.WriteByte(pcDigit(t + (q-t)%(pcBase-t)))
					q = (q - t) / (pcBase - t)
				}
				b.WriteByte(pcDigit(q))
				bias = pcAdapt(delta, h+1, h == basic)
				delta = 0
				h++
			}
		}
		delta++
		n++
	}
	return b.String(), nil
}

// toASCIIDomain converts a (lower-case, NFC) domain to its A-label form.
// ASCII labels pass through untouched.
func toASCIIDomain(domain string) (string, error) {
	ascii := true
	for i := 0; i < len(domain); i++ {
		if domain[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return domain, nil
	}
	labels := strings.Split(domain, ".")
	for i, l := range labels {
		nonASCII := false
		for j := 0; j < len(l); j++ {
			if l[j] >= utf8.RuneSelf {
				nonASCII = true
				break
			}
		}
		if !nonASCII {
			continue
		}
		enc, err := punycodeLabel(l)
		if err != nil {
			return "", err
		}
		labels[i] = "xn--" + enc
	}
	return strings.Join(labels, "."), nil
}
