package main

// A health check in Argo CD's resource_customizations layout: a directory <group>/<Kind>/ with
// health.lua, health_test.yaml (a list of {inputPath, healthStatus: {status, message}}) and the
// objects under testdata/.

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// healthTestFile is the shape of health_test.yaml.
type healthTestFile struct {
	Tests []healthTest `json:"tests"`
}

type healthTest struct {
	InputPath    string `json:"inputPath"`
	HealthStatus Health `json:"healthStatus"`
}

// Result is the outcome of one test case.
type Result struct {
	Check string // <group>/<Kind>
	Input string // the test's inputPath
	Want  Health
	Got   Health
	Err   error
}

// OK reports whether the script returned exactly the expected health.
func (r Result) OK() bool { return r.Err == nil && r.Got == r.Want }

// FindChecks returns the directories holding a health.lua under each root (a root may itself
// be one), sorted.
func FindChecks(roots []string) ([]string, error) {
	seen := map[string]bool{}
	for _, root := range roots {
		if _, err := os.Stat(root); err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && d.Name() == "health.lua" {
				seen[filepath.Dir(path)] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	dirs := make([]string, 0, len(seen))
	for d := range seen {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no health.lua under %s", strings.Join(roots, ", "))
	}
	return dirs, nil
}

// checkName is <group>/<Kind> of a check directory.
func checkName(dir string) string {
	return filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)
}

// RunCheck evaluates dir's health.lua on every test of its health_test.yaml. An error means
// the check itself is malformed (unreadable files, an unknown field, a testdata file no test
// uses); a wrong answer is a failed Result.
func RunCheck(dir string, openLibs bool) ([]Result, error) {
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		return nil, err
	}
	specPath := filepath.Join(dir, "health_test.yaml")
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return nil, err
	}
	var spec healthTestFile
	if err := yaml.UnmarshalStrict(raw, &spec); err != nil {
		return nil, fmt.Errorf("%s: %w (want tests: [{inputPath, healthStatus: {status, message}}])", specPath, err)
	}
	if len(spec.Tests) == 0 {
		return nil, fmt.Errorf("%s: tests is empty", specPath)
	}
	used := map[string]bool{}
	results := make([]Result, 0, len(spec.Tests))
	for i, t := range spec.Tests {
		if t.InputPath == "" || !validStatuses[t.HealthStatus.Status] {
			return nil, fmt.Errorf("%s: tests[%d] needs an inputPath and a healthStatus.status (one of Healthy, Progressing, Degraded, Suspended, Missing, Unknown), got inputPath %q status %q",
				specPath, i, t.InputPath, t.HealthStatus.Status)
		}
		used[filepath.Clean(t.InputPath)] = true
		obj, err := readObject(filepath.Join(dir, t.InputPath))
		if err != nil {
			return nil, err
		}
		got, evalErr := EvalHealth(string(script), obj, openLibs)
		results = append(results, Result{checkName(dir), t.InputPath, t.HealthStatus, got, evalErr})
	}
	return results, unusedTestdata(dir, used)
}

func readObject(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return obj, nil
}

// unusedTestdata fails when testdata/ holds a file that no test reads: a case that is never run.
func unusedTestdata(dir string, used map[string]bool) error {
	entries, err := os.ReadDir(filepath.Join(dir, "testdata"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	var unused []string
	for _, e := range entries {
		rel := filepath.Join("testdata", e.Name())
		if !e.IsDir() && !used[rel] {
			unused = append(unused, rel)
		}
	}
	if len(unused) > 0 {
		return fmt.Errorf("%s: testdata no test in health_test.yaml reads: %s", dir, strings.Join(unused, ", "))
	}
	return nil
}
