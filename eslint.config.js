import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // .cache/ holds build outputs, e.g. the image's rootfs with a copy of the sources (ADR 0060).
  { ignores: ["node_modules/", "hack/controlplane/modules/", "coverage/", ".cache/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js", "bin/*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/explicit-module-boundary-types": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      complexity: ["error", 20],
      "max-params": ["error", 5],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: { "@typescript-eslint/unbound-method": "off" },
  },
  // Size (issue 12, ADR 0074): a file holds one concern in at most ~400 lines of code and a
  // function at most ~80. Blank lines and comments do not count: documentation is never a
  // reason to split.
  {
    files: ["**/*.ts"],
    rules: {
      "max-lines": ["error", { max: 400, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  // Exempt: tests, where a describe() callback holds a whole suite and a table test grows by
  // one row per case (length is the number of cases, not one function's complexity); the test
  // stacks and harnesses under test/, which start a cluster or a fleet of processes in one
  // readable sequence; and bench/ scripts, one linear measurement each, run by hand and never
  // imported by product code.
  {
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: { "max-lines": "off", "max-lines-per-function": "off" },
  },
  // Argo CD health-check case tables: one object literal per case, data rather than logic.
  {
    files: ["hack/argocd-lua/cases/*-cases.ts"],
    rules: { "max-lines-per-function": "off" },
  },
  // TEMPORARY — product files over the size limits when the limits came in (issue 12). Each is
  // to be split and then removed from this list; nothing may be added. Being edited by other
  // changes at the time (split once those land): services/metrics, wargame/. Not split yet:
  // the rest.
  {
    name: "vaultmesh/temporary-size-exceptions",
    files: [
      "services/metrics/catalog.ts",
      "wargame/engine.ts",
      "services/ledger/proof-api.ts",
      "hack/chart/values-schema.ts",
    ],
    rules: { "max-lines": "off", "max-lines-per-function": "off" },
  },
  { files: ["*.js", "bin/*.js"], ...tseslint.configs.disableTypeChecked },
);
