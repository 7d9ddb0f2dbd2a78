package main

// The Lua environment of an Argo CD health check, rebuilt from Argo CD's documented behaviour
// (util/lua in argoproj/argo-cd): a fresh state per evaluation; with
// resource.customizations.useOpenLibs false (the default) only the package, base and table
// libraries and a reduced os library (time, date) are loaded, so string.*, math.* and io.* are
// nil; with it true every standard library is open, os still reduced. The object is the global
// `obj`; the script returns a table whose `status` and `message` become the resource health.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// evalTimeout bounds one script run, as Argo CD bounds it (one second).
const evalTimeout = time.Second

// Health is what a health script returned: Argo CD's HealthStatus (status code and message).
type Health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// validStatuses are the health codes Argo CD accepts from a script; any other string becomes
// Unknown with invalidStatusMessage.
var validStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true,
	"Missing": true, "Unknown": true,
}

const invalidStatusMessage = "Lua returned an invalid health status"

// newState returns a Lua state set up like Argo CD's for one evaluation.
func newState(openLibs bool) (*lua.LState, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !openLibs})
	libs := []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openReducedOs},
	}
	for _, lib := range libs {
		l.Push(l.NewFunction(lib.open))
		l.Push(lua.LString(lib.name))
		if err := l.PCall(1, 0, nil); err != nil {
			l.Close()
			return nil, fmt.Errorf("opening Lua library %q: %w", lib.name, err)
		}
	}
	// `local os = require("os")` gets the reduced library too.
	l.PreloadModule(lua.OsLibName, func(l *lua.LState) int {
		l.Push(l.SetFuncs(l.NewTable(), reducedOsFuncs))
		return 1
	})
	return l, nil
}

var reducedOsFuncs = map[string]lua.LGFunction{"time": osTime, "date": osDate}

func openReducedOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.OsLibName, reducedOsFuncs))
	return 1
}

// osTime: os.time() is the current Unix time; os.time{year=…, month=…, day=…, hour=…, min=…,
// sec=…} the Unix time of that local date (hour defaults to 12, as in Lua).
func osTime(l *lua.LState) int {
	if l.GetTop() == 0 {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	t := l.CheckTable(1)
	field := func(name string, def int) int {
		if n, ok := t.RawGetString(name).(lua.LNumber); ok {
			return int(n)
		}
		if def < 0 {
			l.RaiseError("os.time: field %q missing in date table", name)
		}
		return def
	}
	at := time.Date(field("year", -1), time.Month(field("month", -1)), field("day", -1),
		field("hour", 12), field("min", 0), field("sec", 0), 0, time.Local)
	l.Push(lua.LNumber(at.Unix()))
	return 1
}

// osDate: os.date([format [, time]]) with the strftime conversions %Y %m %d %H %M %S %%, a
// leading "!" for UTC, and "*t" for a table. Enough for health scripts; others raise an error.
func osDate(l *lua.LState) int {
	format := l.OptString(1, "%Y-%m-%d %H:%M:%S")
	at := time.Now()
	if l.GetTop() >= 2 {
		at = time.Unix(int64(l.CheckNumber(2)), 0)
	}
	if strings.HasPrefix(format, "!") {
		at, format = at.UTC(), format[1:]
	}
	if format == "*t" {
		t := l.NewTable()
		for k, v := range map[string]int{
			"year": at.Year(), "month": int(at.Month()), "day": at.Day(), "hour": at.Hour(),
			"min": at.Minute(), "sec": at.Second(), "wday": int(at.Weekday()) + 1,
			"yday": at.YearDay(),
		} {
			t.RawSetString(k, lua.LNumber(v))
		}
		l.Push(t)
		return 1
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", at.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(at.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", at.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", at.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", at.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", at.Second())
		case '%':
			b.WriteByte('%')
		default:
			l.RaiseError("os.date: conversion %%%c is not supported", format[i])
		}
	}
	l.Push(lua.LString(b.String()))
	return 1
}

// toLua converts a decoded JSON/YAML value the way Argo CD hands an object to Lua: maps become
// tables with string keys, lists become 1-based arrays, numbers become Lua numbers.
func toLua(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case float64:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case int:
		return lua.LNumber(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.RawSetString(k, toLua(l, x[k]))
		}
		return t
	}
	return lua.LNil
}

// EvalHealth runs a health script on obj the way Argo CD does and returns the health it
// reports. An error is what Argo CD would show as Unknown with the error text.
func EvalHealth(script string, obj map[string]any, openLibs bool) (Health, error) {
	l, err := newState(openLibs)
	if err != nil {
		return Health{}, err
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), evalTimeout)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	fn, err := l.LoadString(script)
	if err != nil {
		return Health{}, fmt.Errorf("compiling health.lua: %w", err)
	}
	l.Push(fn)
	if err := l.PCall(0, lua.MultRet, nil); err != nil {
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) {
			return Health{}, fmt.Errorf("running health.lua: %s", apiErr.Object.String())
		}
		return Health{}, fmt.Errorf("running health.lua: %w", err)
	}
	return healthFrom(l.Get(-1))
}

// healthFrom reads the script's return value: nil or an empty table is no assessment, a table
// gives status and message (a missing or unknown status reads as Unknown, as in Argo CD), and
// anything else is an error.
func healthFrom(ret lua.LValue) (Health, error) {
	switch ret.Type() {
	case lua.LTNil:
		return Health{}, nil
	case lua.LTTable:
	default:
		return Health{}, fmt.Errorf("expect table output from Lua script, not %s", ret.Type())
	}
	t := ret.(*lua.LTable)
	if k, _ := t.Next(lua.LNil); k == lua.LNil {
		return Health{}, nil // an empty table: no assessment, as Argo CD reads it
	}
	var h Health
	for _, f := range []struct {
		key string
		dst *string
	}{{"status", &h.Status}, {"message", &h.Message}} {
		switch v := t.RawGetString(f.key).(type) {
		case *lua.LNilType:
		case lua.LString:
			*f.dst = string(v)
		default:
			return Health{}, fmt.Errorf("health.%s must be a string, not %s", f.key, v.Type())
		}
	}
	if !validStatuses[h.Status] {
		return Health{Status: "Unknown", Message: invalidStatusMessage}, nil
	}
	return h, nil
}
