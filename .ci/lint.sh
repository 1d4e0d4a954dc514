#!/bin/bash
# Everything `npm run lint` checks: types, the layering of the folders, ESLint, the formatting, and
# every tracked shell script (by extension or shebang) through shellcheck.
set -euo pipefail
cd "$(dirname "$0")/.."

npx tsc -p .
# Folders import only from the layers below them, and nothing imports in a cycle (.dependency-cruiser.cjs).
npx depcruise --config .dependency-cruiser.cjs platform services ldap mail hosts backup account stacks policy ci bench tests
npx eslint .
npx prettier --check . --log-level warn

mapfile -t scripts < <(git ls-files | while read -r file; do
  case "$file" in
    *.sh) echo "$file" ;;
    *.*) ;;
    *) [ -f "$file" ] && head -n1 "$file" | grep -qE '^#!.*\b(ba|da)?sh\b' && echo "$file" ;;
  esac
done)
if [ "${#scripts[@]}" -gt 0 ]; then
  shellcheck "${scripts[@]}"
fi
echo "lint: types, layers, eslint, prettier and shellcheck (${#scripts[@]} scripts) passed"
