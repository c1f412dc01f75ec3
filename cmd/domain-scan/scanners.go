package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/all"
)

func newScannersCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "scanners",
		Short: "List the built-in scanners with their headers, default workers and flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listScanners(stdout, all.Scanners())
		},
	}
}

func listScanners(w io.Writer, scanners []scan.Scanner) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCANNER\tLAMBDA\tWORKERS\tDEPENDS ON\tSUMMARY")
	for _, s := range scanners {
		info := s.Info()
		lambda := "no"
		if info.Lambda {
			lambda = "yes"
		}
		deps := strings.Join(info.DependsOn, ",")
		if deps == "" {
			deps = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", info.Name, lambda,
			engine.WorkersFor(info, 0, false), deps, info.Summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range scanners {
		info := s.Info()
		fmt.Fprintf(w, "\n%s headers (%d): %s\n", info.Name, len(info.Headers), strings.Join(info.Headers, ", "))
		if fd, ok := s.(scan.FlagDefiner); ok {
			fs := flag.NewFlagSet(info.Name, flag.ContinueOnError)
			fd.DefineFlags(fs)
			fs.VisitAll(func(f *flag.Flag) {
				fmt.Fprintf(w, "  --%s  %s\n", f.Name, f.Usage)
			})
		}
	}
	return nil
}
