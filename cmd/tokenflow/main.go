// Command tokenflow runs token lifecycle flows against vendor plugins.
package main

import (
	"os"

	"github.com/tokenflow/tokenflow/internal/cli"
)

func main() { os.Exit(cli.Main()) }
