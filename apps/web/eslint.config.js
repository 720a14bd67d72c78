// ESLint for the page's JavaScript (tests/test_js.py runs `eslint .` here): @eslint/js's recommended
// rules, nothing more. The page's files are browser ES modules; the tests (test/) and this file run in Node.
import js from "@eslint/js";
import globals from "globals";

const NODE_FILES = ["test/**", "eslint.config.js"];

export default [
  { ignores: ["node_modules/"] },
  js.configs.recommended,
  { files: ["**/*.js", "**/*.mjs"], languageOptions: { ecmaVersion: "latest", sourceType: "module" } },
  { files: ["*.js"], ignores: NODE_FILES, languageOptions: { globals: globals.browser } },
  { files: NODE_FILES, languageOptions: { globals: globals.node } },
];
