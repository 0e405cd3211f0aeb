package match

import (
	"math"
	"slices"
	"strings"
	"sync"
)

// prepareAll normalises the records (in parallel) and then runs the
// vocabulary pass: token ids with inverse-document-frequency weights, and
// the term frequency of every value an exact level may adjust for.
func prepareAll(recs []Record, workers int) []prepared {
	out := make([]prepared, len(recs))
	var wg sync.WaitGroup
	chunk := (len(recs) + workers - 1) / max(workers, 1)
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(recs))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i] = prepare(&recs[i])
			}
		}()
	}
	wg.Wait()
	buildVocabulary(out)
	return out
}

// termFreq counts values; tf(v) = count(v) / records having a value, the
// probability that a random record has v, which is the u-probability of
// agreeing on v exactly.
type termFreq struct {
	counts map[string]int32
	total  int
}

func newTermFreq() *termFreq { return &termFreq{counts: map[string]int32{}} }

func (t *termFreq) add(v string) {
	if v != "" {
		t.counts[v]++
		t.total++
	}
}

func (t *termFreq) freq(v string) float32 {
	if v == "" || t.total == 0 {
		return 0
	}
	return float32(t.counts[v]) / float32(t.total)
}

// vocabulary interns tokens and counts in how many records each occurs.
type vocabulary struct {
	ids map[string]uint32
	df  []int32
}

func (v *vocabulary) intern(words []string, buf []uint32) []uint32 {
	buf = buf[:0]
	for _, w := range words {
		id, ok := v.ids[w]
		if !ok {
			id = uint32(len(v.df))
			v.ids[w] = id
			v.df = append(v.df, 0)
		}
		buf = append(buf, id)
	}
	slices.Sort(buf)
	buf = slices.Compact(buf)
	for _, id := range buf {
		v.df[id]++
	}
	return buf
}

// weigh turns ids into tokens weighted by log(1 + N/df): a token in every
// record weighs log 2, a unique one log(1+N).
func (v *vocabulary) weigh(ids []uint32, n int) ([]token, float32) {
	if len(ids) == 0 {
		return nil, 0
	}
	toks := make([]token, len(ids))
	var sum float32
	for i, id := range ids {
		w := float32(math.Log(1 + float64(n)/float64(v.df[id])))
		toks[i] = token{id: id, w: w}
		sum += w
	}
	return toks, sum
}

func buildVocabulary(ps []prepared) {
	names := &vocabulary{ids: map[string]uint32{}}
	addrs := &vocabulary{ids: map[string]uint32{}}
	nameIDs := make([][]uint32, len(ps))
	addrIDs := make([][]uint32, len(ps))
	tfGiv, tfSur, tfFull, tfLoc, tfAddr := newTermFreq(), newTermFreq(), newTermFreq(), newTermFreq(), newTermFreq()
	var buf []uint32
	var words []string
	for i := range ps {
		p := &ps[i]
		tfGiv.add(p.given)
		tfSur.add(p.surname)
		tfFull.add(p.full)
		tfLoc.add(p.locality)
		tfAddr.add(p.addrKey)
		if p.full != "" {
			buf = names.intern(strings.Fields(p.full), buf)
			nameIDs[i] = slices.Clone(buf)
		}
		words = words[:0]
		for _, l := range [2]string{p.addr1, p.addr2} {
			for _, w := range strings.Fields(l) {
				if !streetNoise[w] {
					words = append(words, w)
				}
			}
		}
		if len(words) > 0 {
			buf = addrs.intern(words, buf)
			addrIDs[i] = slices.Clone(buf)
		}
	}
	n := len(ps)
	for i := range ps {
		p := &ps[i]
		p.fullTok, p.fullW = names.weigh(nameIDs[i], n)
		p.addrTok, p.addrW = addrs.weigh(addrIDs[i], n)
		p.tfGiv = tfGiv.freq(p.given)
		p.tfSur = tfSur.freq(p.surname)
		p.tfFull = tfFull.freq(p.full)
		p.tfLoc = tfLoc.freq(p.locality)
		p.tfAddr = tfAddr.freq(p.addrKey)
	}
}
