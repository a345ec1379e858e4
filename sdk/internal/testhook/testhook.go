// Package testhook lets sdk/sdktest serve a plugin in-process without the
// sdk package exporting go-plugin or gRPC types to plugin authors: sdk sets
// NewGRPCPlugin at init, sdktest (inside sdk/, so allowed to import this
// internal package) calls it.
package testhook

import goplugin "github.com/hashicorp/go-plugin"

// NewGRPCPlugin returns the go-plugin adapter that serves plugin (an
// *sdk.Plugin). Set by package sdk.
var NewGRPCPlugin func(plugin any) goplugin.GRPCPlugin
