#!/usr/bin/env bash
# Runs every Fuzz* target in the module for FUZZTIME (default 5s) each.
# Targets are discovered, so a new fuzz test is covered without editing this.
set -euo pipefail
fuzztime="${FUZZTIME:-5s}"
n=0
for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		echo "fuzz: $pkg $t ($fuzztime)"
		go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/rtpmix-fuzz.log 2>&1 || {
			cat /tmp/rtpmix-fuzz.log
			echo "fuzz: $pkg $t FAILED" >&2
			exit 1
		}
		n=$((n + 1))
	done
done
echo "fuzz: $n targets ran for $fuzztime each, no failures"
