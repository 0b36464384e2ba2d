#!/usr/bin/env bash
# Runs deploy/slurm/loadkit.sbatch on this machine, without Slurm, and checks
# what a distributed run must get right:
#   - setup() and teardown() ran once each (the built-in target counts
#     requests per path: /auth/token and /auth/revoke are only theirs);
#   - the instances' merged counts are exactly the test's (iterations of a
#     shared-iterations and of a constant-arrival-rate scenario), and match
#     what the target received;
#   - every instance wrote its part, and they started within a second of
#     each other (--start-at);
#   - the job exited 0 (the merged thresholds passed).
#
#   deploy/slurm/simulate.sh            # 4 instances, ~15 s
#   NTASKS=3 KEEP=1 deploy/slurm/simulate.sh
#
# A fake `srun` (on PATH) starts SLURM_NTASKS copies of its command at once,
# with SLURM_PROCID=0..N-1, waits for them, and fails when one failed with a
# code other than 0 or 99. The test is the one in
# deploy/kubernetes/configmap.yaml, shortened by its environment variables.
# All traffic goes to the built-in target (`loadkit serve`) on 127.0.0.1.
# Needs bash, curl, python3 (to read the JSON) and a built loadkit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
LOADKIT=${LOADKIT:-$repo/build/runner/loadkit}
NTASKS=${NTASKS:-4}
RATE=40 DURATION_S=5 CHECKOUTS=200   # the test's size: RATE*DURATION_S browse iterations, CHECKOUTS checkouts

[ -x "$LOADKIT" ] || { echo "simulate: no loadkit at $LOADKIT (build it: scripts/setup, or set LOADKIT)" >&2; exit 2; }
for tool in curl python3 timeout; do
  command -v "$tool" >/dev/null || { echo "simulate: needs $tool" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/loadkit-slurm-sim.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "simulate: files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- the fake srun: options (--opt=value only) are ignored; the command runs
# SLURM_NTASKS times in parallel, as the tasks of one step
mkdir -p "$work/bin"
cat > "$work/bin/srun" <<'EOF'
#!/usr/bin/env bash
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
n=${SLURM_NTASKS:?srun (simulated): SLURM_NTASKS is not set}
pids=()
for ((i = 0; i < n; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NODEID=0 SLURM_STEP_ID=0 "$@" &
  pids+=($!)
done
worst=0
for i in "${!pids[@]}"; do
  rc=0; wait "${pids[$i]}" || rc=$?
  echo "srun (simulated): task $i exited $rc" >&2
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 99 ] && [ "$rc" -gt "$worst" ]; then worst=$rc; fi
done
exit "$worst"
EOF
chmod +x "$work/bin/srun"

# ---- the test: the Kubernetes ConfigMap's script, taken out of its YAML block
awk '/^  test\.js: \|/ { f = 1; next } f && /^    / { print substr($0, 5); next } f && /^ *$/ { print ""; next } f { exit }' \
  "$repo/deploy/kubernetes/configmap.yaml" > "$work/test.js"
grep -q 'export function setup' "$work/test.js" || { echo "simulate: could not read test.js from configmap.yaml" >&2; exit 1; }

# ---- the target: loadkit's built-in one, on 127.0.0.1, on any free port
"$LOADKIT" serve --address 127.0.0.1 --port 0 > "$work/serve.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 50); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.log" || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "simulate: the built-in target did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "simulate: target $url, $NTASKS instances, results in $work/results"

# ---- the batch job, as sbatch would start it: SLURM_* set, in the submit directory
rc=0
(
  cd "$work"
  export PATH="$work/bin:$PATH" SLURM_JOB_ID="sim$$" SLURM_NTASKS="$NTASKS" SLURM_CPUS_PER_TASK=1 SLURM_SUBMIT_DIR="$work"
  export LOADKIT LOADKIT_TEST="$work/test.js" TARGET="$url" RESULTS="$work/results" START_DELAY=4
  export RATE DURATION="${DURATION_S}s" CHECKOUTS   # read by the test (__ENV)
  timeout 50 bash "$here/loadkit.sbatch"
) > "$work/job.out" 2> "$work/job.err" || rc=$?
sed 's/^/  | /' "$work/job.err"
echo "simulate: the job exited $rc; its output (the merged summary):"
grep -v '^ *$' "$work/job.out" | sed 's/^/  | /'

# ---- the checks
stats=$(curl -s --max-time 5 "$url/stats")
python3 - "$work/results" "$NTASKS" "$rc" "$stats" "$((RATE * DURATION_S))" "$CHECKOUTS" <<'EOF'
import json, os, sys
results, ntasks, rc, stats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
want_browse, want_checkouts = int(sys.argv[5]), int(sys.argv[6])
failures = []
def expect(ok, what):
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok: failures.append(what)

expect(rc == 0, f"the job exited {rc} (want 0)")
expect(stats.get('/auth/token') == 1, f"setup() ran once: the target saw /auth/token {stats.get('/auth/token', 0)} time(s)")
expect(stats.get('/auth/revoke') == 1, f"teardown() ran once: the target saw /auth/revoke {stats.get('/auth/revoke', 0)} time(s)")
parts = [os.path.join(results, f'part-{i}.json') for i in range(ntasks)]
have = [p for p in parts if os.path.exists(p)]
expect(len(have) == ntasks, f"{len(have)} of {ntasks} instances wrote their part")
starts = [json.load(open(p))['state']['started_ms'] for p in have]
if starts:
    spread = max(starts) - min(starts)
    expect(spread < 1000, f"the instances started within {spread} ms of each other (--start-at)")
try:
    merged = json.load(open(os.path.join(results, 'merged.json')))
except FileNotFoundError:
    merged = None
expect(merged is not None, "merged.json was written")
if merged:
    checks = {c['name']: c for c in merged['checks']}
    metric = {m['metric']: m['agg'] for m in merged['metrics']}
    items = int(checks.get('items: status 200', {}).get('passes', 0))
    checkouts = int(checks.get('checkout: status 200', {}).get('passes', 0))
    expect(checkouts == want_checkouts, f"checkout (shared-iterations): {checkouts} iterations over all instances (want {want_checkouts})")
    dropped = int(metric.get('dropped_iterations', {}).get('count', 0))
    expect(items == want_browse, f"browse (constant-arrival-rate): {items} iterations over all instances (want {want_browse}; dropped {dropped})")
    reqs = int(metric['http_reqs']['count'])
    served = sum(v for k, v in stats.items() if k in ('/items', '/feed', '/echo'))
    expect(reqs == served, f"merged http_reqs {reqs} == requests the target served to the instances {served}")
    expect(merged['thresholds_passed'] is True, f"merged thresholds passed: {merged['thresholds_passed']}")
print(f"simulate: {'PASSED' if not failures else 'FAILED: ' + '; '.join(failures)}")
sys.exit(1 if failures else 0)
EOF
