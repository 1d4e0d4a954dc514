#!/bin/bash
# Typecheck the TypeScript and shellcheck every tracked shell script (by extension or shebang).
set -euo pipefail
cd "$(dirname "$0")/.."

npx tsc -p .

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
echo "lint: typecheck and shellcheck (${#scripts[@]} scripts) passed"
