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
  { files: ["*.js", "bin/*.js"], ...tseslint.configs.disableTypeChecked },
);
