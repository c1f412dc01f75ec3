package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/scanners/all"
)

func newLabCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "The offline lab: DNS, web and mail servers on loopback with a catalogue of scenarios",
	}
	var synthetic int
	var highPorts bool
	var dir string
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the lab until interrupted; prints KEY=value lines describing it",
		Long: `Serve every scenario of the catalogue (or --synthetic N generated domains)
on loopback addresses, with an authoritative DNS server and a private CA.
The KEY=value lines on stdout say how to reach it; SCAN_FLAGS holds the flags
that point a scan at the lab.`,
		Example: `  domain-scan lab serve > lab.env &
  domain-scan lab domains > lab.csv
  domain-scan scan lab.csv --scan=noop $(grep ^SCAN_FLAGS= lab.env | cut -d= -f2-)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if synthetic < 0 {
				return usagef("--synthetic must be positive")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			start := time.Now()
			l, err := lab.Start(ctx, lab.Options{Synthetic: synthetic, HighPorts: highPorts, Dir: dir})
			if err != nil {
				return err
			}
			defer l.Close()
			for _, line := range l.Env() {
				fmt.Fprintln(stdout, line)
			}
			fmt.Fprintf(stderr, "lab serving %d domains (started in %s); interrupt to stop\n",
				len(l.Domains()), time.Since(start).Round(time.Millisecond))
			<-ctx.Done()
			return nil
		},
	}
	serve.Flags().IntVar(&synthetic, "synthetic", 0, "serve N generated domains instead of the catalogue")
	serve.Flags().BoolVar(&highPorts, "high-ports", false, "listen on high ports (with a port map) even when ports below 1024 can be bound")
	serve.Flags().StringVar(&dir, "dir", "", "directory for the lab CA file (default: a temporary directory)")

	var domainsSynthetic int
	domains := &cobra.Command{
		Use:   "domains",
		Short: "Print the lab's domains as a domains CSV",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := csv.NewWriter(stdout)
			w.Write([]string{"Domain", "Summary"})
			if domainsSynthetic > 0 {
				for i := range domainsSynthetic {
					w.Write([]string{lab.SyntheticName(i), "synthetic"})
				}
			} else {
				for _, sc := range lab.Catalogue() {
					w.Write([]string{sc.Domain, sc.Summary})
				}
			}
			w.Flush()
			return w.Error()
		},
	}
	domains.Flags().IntVar(&domainsSynthetic, "synthetic", 0, "print N synthetic names instead of the catalogue")
	cmd.AddCommand(serve, domains)
	return cmd
}

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	var out string
	var highPorts bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the offline lab and scan every scenario with every scanner",
		Long: `Start the lab in this process (no network needed; high ports when not root),
scan every scenario of its catalogue with every built-in scanner, write the
usual results/ and cache/ under --output, and print a short summary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), out, highPorts, stdout, stderr)
		},
	}
	cmd.Flags().StringVar(&out, "output", "demo-results", "directory for the lab files, cache/ and results/")
	cmd.Flags().BoolVar(&highPorts, "high-ports", false, "listen on high ports even as root")
	return cmd
}

// headline is one count the demo summary shows for a scanner: rows whose
// Column equals Value.
type headline struct {
	label, column, value string
}

// headlines per scanner; scanners not listed get none.
var headlines = map[string][]headline{
	"noop":       {{"completed", "Completed", "True"}},
	"analytics":  {{"participating", "Participates in Analytics", "True"}},
	"pshtt":      {{"HTTPS enforced", "Domain Enforces HTTPS", "True"}, {"strong HSTS", "Domain Uses Strong HSTS", "True"}, {"valid HTTPS", "Valid HTTPS", "True"}},
	"trustymail": {{"valid DMARC", "Valid DMARC", "True"}, {"valid SPF", "Valid SPF", "True"}, {"STARTTLS", "Domain Supports STARTTLS", "True"}},
	"sslyze":     {{"TLS 1.3", "TLSv1.3", "True"}, {"SSLv3", "SSLv3", "True"}, {"any RC4", "Any RC4", "True"}},
}

func runDemo(ctx context.Context, out string, highPorts bool, stdout, stderr io.Writer) error {
	start := time.Now()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("demo output: %w", err)
	}
	l, err := lab.Start(ctx, lab.Options{Dir: out, HighPorts: highPorts})
	if err != nil {
		return fmt.Errorf("start the lab: %w", err)
	}
	defer l.Close()

	domainsCSV := filepath.Join(out, "lab-domains.csv")
	analyticsCSV := filepath.Join(out, "lab-analytics.csv")
	var list, participating strings.Builder
	list.WriteString("Domain\n")
	participating.WriteString("Domain\n")
	for i, d := range l.Domains() {
		fmt.Fprintln(&list, d)
		if i%3 == 0 { // a stand-in participation list for the analytics scanner
			fmt.Fprintln(&participating, d)
		}
	}
	if err := os.WriteFile(domainsCSV, []byte(list.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(analyticsCSV, []byte(participating.String()), 0o644); err != nil {
		return err
	}

	var names []string
	for _, s := range all.Scanners() {
		if !s.Info().Browser {
			names = append(names, s.Info().Name)
		}
	}
	args := append([]string{"scan", domainsCSV, "--scan=" + strings.Join(names, ","),
		"--analytics=" + analyticsCSV, "--output=" + out, "--sort", "--quiet",
		"--hsts-preload-list=" + l.PreloadURL, "--hsts-preload-pending=" + l.PendingURL}, l.ScanFlags()...)
	if slices.Contains(names, "trustymail") {
		// The lab answers in milliseconds; its deliberately silent DNS and
		// SMTP servers need not cost the defaults' 30 s and 5 s.
		args = append(args, "--timeout=3", "--smtp-timeout=2")
	}
	if slices.Contains(names, "sslyze") {
		args = append(args, "--sslyze-timeout=2")
	}
	fmt.Fprintf(stderr, "demo: lab with %d scenario domains up in %s", len(l.Domains()), time.Since(start).Round(time.Millisecond))
	if len(l.PortMap) > 0 {
		fmt.Fprintf(stderr, " (not root: high ports, --port-map=%s)", l.PortMap)
	}
	fmt.Fprintf(stderr, "\ndemo: domain-scan %s\n", strings.Join(args, " "))
	if code := run(args, stdout, stderr); code != exitOK {
		return fmt.Errorf("demo scan exited with %d", code)
	}
	return demoSummary(stdout, filepath.Join(out, "results"), names, time.Since(start))
}

// demoSummary prints per scanner: domains, outcomes and headline counts,
// from meta.json and the results CSVs.
func demoSummary(w io.Writer, results string, names []string, took time.Duration) error {
	b, err := os.ReadFile(filepath.Join(results, "meta.json"))
	if err != nil {
		return err
	}
	var meta struct {
		Counts struct {
			Scanners map[string]struct {
				Domains int `json:"domains"`
				OK      int `json:"ok"`
				Failed  int `json:"failed"`
				Timeout int `json:"timeout"`
				Skipped int `json:"skipped"`
				Rows    int `json:"rows"`
			} `json:"scanners"`
		} `json:"counts"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return fmt.Errorf("read meta.json: %w", err)
	}
	fmt.Fprintf(w, "\nResults in %s (%s)\n\n", results, took.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCANNER\tDOMAINS\tOK\tFAILED\tTIMED OUT\tSKIPPED\tROWS\tHEADLINES")
	for _, name := range names {
		c := meta.Counts.Scanners[name]
		var parts []string
		for _, h := range headlines[name] {
			n, total, err := countColumn(filepath.Join(results, name+".csv"), h.column, h.value)
			if err != nil {
				return err
			}
			parts = append(parts, fmt.Sprintf("%s %d/%d", h.label, n, total))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", name, c.Domains, c.OK, c.Failed, c.Timeout, c.Skipped, c.Rows, strings.Join(parts, ", "))
	}
	return tw.Flush()
}

// countColumn counts the data rows of a results CSV whose column equals
// value, and the data rows in all.
func countColumn(path, column, value string) (n, total int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	col := -1
	for i, h := range header {
		if h == column {
			col = i
		}
	}
	if col < 0 {
		return 0, 0, fmt.Errorf("%s has no column %q", path, column)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return n, total, nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		total++
		if col < len(rec) && rec[col] == value {
			n++
		}
	}
}
