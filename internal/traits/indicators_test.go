package traits

import (
	"regexp"
	"slices"
	"testing"
)

// The SQL writes exactly the names the refresh deletes and the docs list.
func TestIndicatorNamesMatchSQL(t *testing.T) {
	var inSQL []string
	for _, m := range regexp.MustCompile(`\{'name': '(\w+)'`).FindAllStringSubmatch(IndicatorsSQL, -1) {
		inSQL = append(inSQL, m[1])
	}
	if !slices.Equal(inSQL, IndicatorNames) {
		t.Errorf("SQL writes %v,\nIndicatorNames lists %v", inSQL, IndicatorNames)
	}
}
