#!/usr/bin/env bash
# expect_exit.sh CODE REGEX -- COMMAND...  (CODE 0 checks a success too)
# Passes when COMMAND exits with CODE and its stderr+stdout matches REGEX
# (extended grep), and the message is one line of "condenser: error: ..." or
# usage text — never a stack trace.
set -u
want_code=$1; pattern=$2; shift 3
out=$("$@" 2>&1); code=$?
if [ "$code" != "$want_code" ]; then
  echo "expected exit $want_code, got $code from: $*"; echo "$out"; exit 1
fi
if ! grep -Eq -- "$pattern" <<<"$out"; then
  echo "output does not match /$pattern/:"; echo "$out"; exit 1
fi
if grep -Eq "terminate called|Exception raised from|frame #" <<<"$out"; then
  echo "output contains a stack trace:"; echo "$out"; exit 1
fi
echo "ok: exit $code, message: $(grep -E -- "$pattern" <<<"$out" | head -1)"
