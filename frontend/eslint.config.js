// ESLint for the editor: the rules of hooks and exhaustive effect dependencies over the
// TypeScript sources (types are tsc's job: npm run typecheck). eslint-plugin-react-hooks 7's
// React Compiler rules (refs, set-state-in-effect, immutability) are not on yet: they flag the
// "latest value in a ref" and "reset state when the input changes" patterns the editor uses
// on purpose in about 20 places, and changing those is a refactor of its own.
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "src/api/schema.d.ts"] },
  {
    files: ["src/**/*.{ts,tsx}"],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    plugins: { "react-hooks": reactHooks },
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "error" },
  },
);
