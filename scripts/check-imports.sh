#!/usr/bin/env bash
# The import rules of design.md section 2, checked on every lint: sibling
# components never import each other, leaves import no component, and the
# packages the agent's config and the externals format are read with do not
# drag the agent's machinery in.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
fail=0
deps() { go list -deps "$mod/$1" | grep "^$mod/" | sed "s|^$mod/||" | grep -vx "$1" || true; }
forbid() { # package, then what it must not depend on
  local pkg=$1; shift
  local d; d=$(deps "$pkg")
  for bad in "$@"; do
    if grep -qx "$bad" <<<"$d"; then
      echo "import rule: $pkg depends on $bad" >&2
      fail=1
    fi
  done
}
components=(poller plugins spooler externals autoreg)
for c in "${components[@]}"; do
  others=()
  for o in "${components[@]}"; do [ "$o" = "$c" ] || others+=("$o"); done
  forbid "$c" "${others[@]}" internal/agent internal/hub internal/config
done
for leaf in internal/check internal/tomlfile internal/schedule internal/checkspec internal/signing internal/config internal/metrics nsca; do
  forbid "$leaf" "${components[@]}" internal/agent internal/hub
done
forbid nsca internal/check internal/config
exit $fail
