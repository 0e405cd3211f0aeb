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
	for i := 0; i < benchRows; i++ {
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

const benchRows = 50000

func BenchmarkOrders(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("commande;date_commande;id_client;statut;sku;libelle;quantite;prix_unitaire\n")
	for i := 0; i < benchRows*4; i++ {
		o := i / 4
		fmt.Fprintf(&sb, "%d;%02d/%02d/2024 10:00;C%d;payée;SKU%d;Article %d;%d;%d,%02d\n", 100000+o, o%28+1, o%12+1, o%5000, i%997, i%997, i%5+1, i%50+1, i%100)
	}
	data := []byte(sb.String())
	for b.Loop() {
		b.StopTimer()
		s := newWS(&testing.T{})
		b.StartTimer()
		rep := s.run(imports.KindOrders, "o.csv", data, imports.Request{})
		b.ReportMetric(float64(rep.RowsRead)/b.Elapsed().Seconds(), "lines/s")
	}
}
