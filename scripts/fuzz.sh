#!/usr/bin/env bash
# Runs every Fuzz* target in the module for FUZZTIME (default 5s) each.
# Targets are discovered, so a new fuzz test is covered without editing this.
#
# A run that fails with "context deadline exceeded" and wrote no failing
# input is Go's fuzzing coordinator missing its own deadline on a slow or
# busy machine (a worker still starting or minimising when -fuzztime ends),
# not a finding: it is retried, at most twice. Anything else fails at once.
set -euo pipefail
fuzztime="${FUZZTIME:-5s}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		for try in 1 2 3; do
			echo "fuzz: $pkg $t ($fuzztime)"
			if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
				break
			fi
			if [ "$try" -lt 3 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
				echo "fuzz: $pkg $t: the fuzzing coordinator missed its deadline (no input failed); again" >&2
				continue
			fi
			cat "$log"
			echo "fuzz: $pkg $t FAILED" >&2
			exit 1
		done
		n=$((n + 1))
	done
done
echo "fuzz: $n targets ran for $fuzztime each, no failures"
