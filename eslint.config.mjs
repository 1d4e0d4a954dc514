// ESLint with the TypeScript rules (typescript-eslint's recommended set), part of `npm run lint`.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "account/image/app.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a parameter a signature requires but the body does not use.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Resource inputs as the provider receives them are untyped JSON bags: the render, the plan's
    // summary, the mocks, the policy pack and the tests that read them walk them as such.
    files: ["stacks/rendered.ts", "stacks/summarize.ts", "stacks/mocks.ts", "policy/**/*.ts", "tests/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Tests match protocol transcripts literally (swaks prints two spaces after its arrows).
    files: ["tests/**/*.ts"],
    rules: { "no-regex-spaces": "off" },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
  },
);
