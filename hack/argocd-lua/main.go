// Command argocd-lua-health runs Argo CD resource health checks (health.lua + health_test.yaml
// + testdata/, Argo CD's resource_customizations layout) on gopher-lua at the version Argo CD
// embeds, with Argo CD's library setup: --open-libs=false (Argo CD's default) loads only the
// package, base, table and a reduced os library; --open-libs=true loads every standard library.
//
// Usage: argocd-lua-health [--open-libs=false] DIR...
//
// Each DIR is a check directory or a tree searched for health.lua. Exit status: 0 when every
// test returns its expected status and message, 1 when one does not (with a want/got diff),
// 2 when a check cannot be read.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
)

const luaModule = "github.com/yuin/gopher-lua"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("argocd-lua-health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	openLibs := fs.Bool("open-libs", false,
		"load every Lua standard library (resource.customizations.useOpenLibs true)")
	version := fs.Bool("version", false, "print the gopher-lua version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, luaVersion())
		return 0
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "argocd-lua-health: name at least one directory holding health.lua (e.g. deploy/argocd/resource_customizations)")
		return 2
	}
	dirs, err := FindChecks(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "argocd-lua-health: %v\n", err)
		return 2
	}
	mode := "open libs " + map[bool]string{true: "on", false: "off"}[*openLibs]
	fmt.Fprintf(stdout, "argocd-lua-health: gopher-lua %s, %s\n", luaVersion(), mode)
	passed, failed := 0, 0
	for _, dir := range dirs {
		results, err := RunCheck(dir, *openLibs)
		for _, r := range results {
			if r.OK() {
				passed++
				fmt.Fprintf(stdout, "PASS %s %s: %s %s\n", r.Check, r.Input, r.Got.Status, strconv.Quote(r.Got.Message))
				continue
			}
			failed++
			fmt.Fprintf(stdout, "FAIL %s %s (%s)\n", r.Check, r.Input, mode)
			fmt.Fprintf(stdout, "  want: %s %s\n", r.Want.Status, strconv.Quote(r.Want.Message))
			if r.Err != nil {
				fmt.Fprintf(stdout, "  got:  error: %v\n", r.Err)
			} else {
				fmt.Fprintf(stdout, "  got:  %s %s\n", r.Got.Status, strconv.Quote(r.Got.Message))
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "argocd-lua-health: %v\n", err)
			return 2
		}
	}
	fmt.Fprintf(stdout, "argocd-lua-health: %d passed, %d failed (%s)\n", passed, failed, mode)
	if failed > 0 {
		return 1
	}
	return 0
}

// luaVersion is the gopher-lua module version this binary was built with.
func luaVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == luaModule {
				return dep.Version
			}
		}
	}
	return "unknown"
}
