#!/bin/bash
# Runs every test suite: cmocka unit tests and pytest integration tests,
# each against the release build and the ASan/UBSan build, then prints one
# summary line "N passed, N failed" (CI reads it).
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3   # Debian's python3 has python3-pytest
passed=0 failed=0 skipped=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

count_cmocka() { # file
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

run_unit() { # tree
	local t out rc
	for t in "$1"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$(mktemp)
		"$t" >"$out" 2>&1; rc=$?
		cat "$out"
		count_cmocka "$out"
		# A crash (sanitizer, signal) before cmocka's summary still counts as a failure.
		if [ $rc -ne 0 ] && ! grep -q '^\[  FAILED  \]' "$out"; then
			echo "!! $t exited $rc without a cmocka summary"; failed=$((failed + 1))
		fi
		rm -f "$out"
	done
}

run_pytest() { # vessel binary, label
	local out rc line n
	out=$(mktemp)
	VESSEL="$1" $PY -m pytest -q -p no:cacheprovider tests/integration 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '[0-9]+ (passed|failed|error)' "$out" | tail -1)
	for kind in passed failed skipped error errors; do
		n=$(echo "$line" | grep -oE "[0-9]+ $kind\b" | grep -oE '^[0-9]+')
		case $kind in
		passed) passed=$((passed + ${n:-0})) ;;
		failed|error|errors) failed=$((failed + ${n:-0})) ;;
		skipped) skipped=$((skipped + ${n:-0})) ;;
		esac
	done
	if [ $rc -ne 0 ] && [ $rc -ne 5 ] && [ -z "$line" ]; then
		echo "!! pytest ($2) exited $rc without a summary"; failed=$((failed + 1))
	fi
	rm -f "$out"
}

echo "== unit tests (release)"; run_unit build
echo "== unit tests (ASan/UBSan)"; run_unit build-asan
echo "== integration tests (release)"; run_pytest "$PWD/build/vessel" release
echo "== integration tests (ASan/UBSan)"; run_pytest "$PWD/build-asan/vessel" asan

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
