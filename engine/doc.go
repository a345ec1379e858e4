// Package engine runs tokenflow flows.
//
// Run executes one Starlark flow with the builtins connect, var, secret,
// output, store, time and json. Op calls go to plugins through pluginmgr;
// plugins reach the network only through hostnet. With Options.DryRun the
// run changes nothing: write requests are held and rendered in the plan, and
// results of write ops are plan-time unknowns.
//
// Builtins live in this package, one file each (builtin_*.go), because they
// share the run's state (plugins, transport, plan, redactor, store).
package engine
