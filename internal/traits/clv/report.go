package clv

import (
	"fmt"
	"time"
)

// ModelReport is one fitted model as `atrium scores model clv --json` prints
// it.
type ModelReport struct {
	Model          string             `json:"model"` // "bg_nbd", "gamma_gamma" or "pareto_nbd"
	Parameters     map[string]float64 `json:"parameters"`
	LogLikelihood  float64            `json:"log_likelihood"`
	Customers      int                `json:"customers"`       // customers the model was fitted on
	CalibrationEnd string             `json:"calibration_end"` // YYYY-MM-DD, inclusive
	TimeUnit       string             `json:"time_unit"`       // unit of recency, T and α/β: "week"
	Iterations     int                `json:"iterations"`
	Converged      bool               `json:"converged"`
}

// Report is the output of `atrium scores model clv --json`.
type Report struct {
	CalibrationEnd string        `json:"calibration_end"`
	TimeUnit       string        `json:"time_unit"`
	Customers      int           `json:"customers"` // customers summarised
	Models         []ModelReport `json:"models"`
}

// Models holds the fitted CLV models and their report.
type Models struct {
	BGNBD      BGNBD
	GammaGamma GammaGamma
	ParetoNBD  *ParetoNBD // nil unless asked for
	Report     Report
}

// FitOptions selects the optional parts of FitModels.
type FitOptions struct {
	ParetoNBD bool // also fit Pareto/NBD (slower: its likelihood needs series)
}

// FitModels fits BG/NBD and Gamma-Gamma (and Pareto/NBD if asked) on weekly
// summaries made by Summarize with unit Week and calibrationEnd. A fit that
// stops early is reported with converged false rather than failing; a fit
// that cannot run (no repeat purchases, invalid summaries) is an error.
func FitModels(s []Summary, calibrationEnd time.Time, opts FitOptions) (Models, error) {
	end := calibrationEnd.UTC().Format(time.DateOnly)
	var out Models
	out.Report = Report{CalibrationEnd: end, TimeUnit: "week", Customers: len(s)}
	add := func(name string, params map[string]float64, info FitInfo) {
		out.Report.Models = append(out.Report.Models, ModelReport{
			Model: name, Parameters: params, LogLikelihood: info.LogLikelihood,
			Customers: info.Customers, CalibrationEnd: end, TimeUnit: "week",
			Iterations: info.Iterations, Converged: info.Converged,
		})
	}
	bg, info, err := FitBGNBD(s)
	if err != nil {
		return Models{}, fmt.Errorf("bg/nbd: %w", err)
	}
	out.BGNBD = bg
	add("bg_nbd", bg.Params(), info)

	gg, info, err := FitGammaGamma(s)
	if err != nil {
		return Models{}, fmt.Errorf("gamma-gamma: %w", err)
	}
	out.GammaGamma = gg
	add("gamma_gamma", gg.Params(), info)

	if opts.ParetoNBD {
		pn, info, err := FitParetoNBD(s)
		if err != nil {
			return Models{}, fmt.Errorf("pareto/nbd: %w", err)
		}
		out.ParetoNBD = &pn
		add("pareto_nbd", pn.Params(), info)
	}
	return out, nil
}
