module example.com/tokenflow-plugin-grafana

go 1.26

require github.com/tokenflow/tokenflow v0.0.0

// Builds against this checkout; the scaffold test copies the module and points this at it.
replace github.com/tokenflow/tokenflow => ../../../..
