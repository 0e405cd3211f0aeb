package imports_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/imports"
)

func BenchmarkContacts(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("id_client;prenom;nom;email;telephone;ville;date_naissance\n")
	for i := 0; i < 50000; i++ {
		fmt.Fprintf(&sb, "C%07d;Jean;Martin; jean.martin%d@Example.fr ;06 12 %02d %02d %02d;Lyon;%02d/%02d/1980\n", i, i, i/10000%100, i/100%100, i%100, i%28+1, i%12+1)
	}
	data := []byte(sb.String())
	for b.Loop() {
		b.StopTimer()
		s := newWS(&testing.T{})
		b.StartTimer()
		rep := s.run(imports.KindContacts, "c.csv", data, imports.Request{})
		b.ReportMetric(float64(rep.RowsRead)/b.Elapsed().Seconds(), "rows/s")
	}
}
