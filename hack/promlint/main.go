// Command promlint reads a Prometheus text exposition on stdin, parses it with the parser
// Prometheus's own tools use (expfmt) and lints it with client_golang's promlint (what
// `promtool check metrics` runs). It prints each family as "name type samples", then each
// problem, and exits 1 when the text does not parse or a problem is found.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func main() {
	input, err := os.ReadFile("/dev/stdin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "promlint: failed to read stdin:", err)
		os.Exit(2)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bufioReader(input))
	if err != nil {
		fmt.Fprintln(os.Stderr, "promlint: the text does not parse:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		family := families[name]
		fmt.Printf("%s %s %d\n", name, family.GetType().String(), len(family.GetMetric()))
	}
	problems, err := promlint.New(bufioReader(input)).Lint()
	if err != nil {
		fmt.Fprintln(os.Stderr, "promlint: failed to lint:", err)
		os.Exit(1)
	}
	for _, problem := range problems {
		fmt.Printf("problem %s: %s\n", problem.Metric, problem.Text)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

func bufioReader(input []byte) *bufio.Reader {
	return bufio.NewReader(bytes.NewReader(input))
}
