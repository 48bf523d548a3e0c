// Command cutover deploys Docker Compose stacks with real deployment strategies.
package main

import (
	"os"

	"github.com/cutover/cutover/internal/cli"
)

func main() {
	os.Exit(cli.Execute())
}
