package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/engine/docker"
)

// Version is set at build time with -ldflags "-X github.com/cutover/cutover/internal/cli.Version=…".
var Version = "dev"

func newVersionCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print cutover's version and the Docker engine's",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := struct {
				Version   string `json:"version"`
				GoVersion string `json:"go_version"`
				Engine    string `json:"engine,omitempty"`
				EngineAPI string `json:"engine_api,omitempty"`
				EngineErr string `json:"engine_error,omitempty"`
			}{Version: Version}
			if bi, ok := debug.ReadBuildInfo(); ok {
				v.GoVersion = bi.GoVersion
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			if eng, err := docker.New(ctx); err != nil {
				v.EngineErr = err.Error()
			} else {
				defer eng.Close()
				if info, err := eng.Ping(ctx); err == nil {
					v.Engine, v.EngineAPI = info.ServerVersion, info.APIVersion
				}
			}
			if output == "json" {
				return json.NewEncoder(g.stdout).Encode(v)
			}
			fmt.Fprintf(g.stdout, "cutover %s (%s)\n", v.Version, v.GoVersion)
			if v.EngineErr != "" {
				fmt.Fprintf(g.stdout, "docker engine: %s\n", v.EngineErr)
			} else {
				fmt.Fprintf(g.stdout, "docker engine %s (API %s)\n", v.Engine, v.EngineAPI)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
