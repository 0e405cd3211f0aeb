package deps

import (
	_ "github.com/duckdb/duckdb-go/v2"
	_ "github.com/goccy/go-yaml"
	_ "github.com/google/uuid"
	_ "github.com/hbollon/go-edlib"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/segmentio/analytics-go/v3"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/text/unicode/norm"
	_ "gonum.org/v1/gonum/optimize"
)
