#!/usr/bin/env bash
# The .deb, as a team would use it: built with CPack from this build tree,
# unpacked into an empty prefix (dpkg-deb -x: no root, nothing touches /usr),
# then from that prefix alone: the runner's version, `loadkit serve`, the
# quick start against it, `loadkit new yaml|js|cpp` projects run against it,
# and the cpp one configured with find_package(loadkit) from the prefix,
# built and run.
#   deb.sh BUILD_DIR WORK_DIR
set -euo pipefail
build=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
say() { echo "deb: $*"; }

# The package: CPack's `package` target (it builds first: in CI everything is built already)
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/pkg/loadkit_*.deb)
say "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb -f "$deb" Package Version Architecture Depends
# the listing goes to a file first: `grep -q` stops reading at its first match,
# and under pipefail dpkg-deb's broken pipe would fail the test
dpkg-deb -c "$deb" >"$work/contents"
grep -q './usr/bin/loadkit$' "$work/contents" || { echo "deb: no usr/bin/loadkit in the package"; exit 1; }
grep -q './usr/include/loadkit.hpp$' "$work/contents" || { echo "deb: no usr/include/loadkit.hpp"; exit 1; }
dpkg-deb -f "$deb" Depends | grep -q 'libssl' || { echo "deb: Depends does not name OpenSSL's library"; exit 1; }

root="$work/root"
dpkg-deb -x "$deb" "$root"
lk="$root/usr/bin/loadkit"
"$lk" version

# the built-in target, from the prefix, on a free port
"$lk" serve --port 0 >"$work/serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/.*serves on \(http:[^ ]*\).*/\1/p' "$work/serve.log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/serve.log"; echo "deb: loadkit serve did not start"; exit 1; }
say "loadkit serve: $url"

# the quick start, installed as documentation
quick="$root/usr/share/doc/loadkit/examples/quickstart.yaml"
"$lk" run "$quick" --target "$url" -u 2 -d 1s -q >"$work/quick.out"
grep -q 'thresholds: all passed' "$work/quick.out"
say "quick start: ok"

# starting projects, as written (only the target and a short run)
"$lk" new yaml "$work/y" >/dev/null
"$lk" run "$work/y/test.yaml" --target "$url" -u 2 -d 1s -q >/dev/null
say "new yaml: ok"
if ldd "$lk" | grep -q mozjs; then  # the runner was built with the JavaScript adapter
  "$lk" new js "$work/j" >/dev/null
  "$lk" run "$work/j/test.js" -e BASE_URL="$url" -u 2 -d 1s -q >/dev/null
  say "new js: ok"
fi
"$lk" new cpp "$work/c" >/dev/null
cmake -S "$work/c" -B "$work/c/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$root/usr" >"$work/c.log" 2>&1 ||
  { cat "$work/c.log"; exit 1; }
grep -q "$root/usr" "$work/c/build/CMakeCache.txt" || { echo "deb: loadkit was not found in the prefix"; exit 1; }
cmake --build "$work/c/build" >>"$work/c.log" 2>&1 || { cat "$work/c.log"; exit 1; }
"$work/c/build/load_test" "$url" 1s >"$work/c.out" || { cat "$work/c.out"; exit 1; }
say "new cpp: configured with find_package(loadkit) from the prefix, built, ran: ok"
