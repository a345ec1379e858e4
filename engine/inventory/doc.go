// Package inventory reads a fleet inventory (the targets file): the vendor
// endpoints a fleet run applies one flow to, grouped like an Ansible YAML
// inventory, with vars, labels, TLS settings and credential references.
//
// Load (or Parse, for bytes in memory) validates the whole file and reports
// every problem at FILE:LINE as an *Error or an ErrorList; it never reads a
// credential and no error quotes one. Inventory.Select applies a --limit
// expression. Target.Resolve reads a target's credentials from the
// environment or from files, when a run needs them.
//
// The format is specified in docs/inventory.md. This package only parses,
// validates, selects and resolves; running flows is the engine's concern.
package inventory
