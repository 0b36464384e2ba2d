#!/usr/bin/env bash
# One distributed loadkit run on Kubernetes, start to verdict:
#   setup Job -> runners Job (N pods, all starting at START_AT) -> teardown Job
#   -> merge Job, then exit with the merge's exit code.
#
#   deploy/kubernetes/run.sh [NAMESPACE [TARGET_URL [INSTANCES]]]
#
# Arguments, or the same from the environment:
#   NAMESPACE    where the Jobs run (default: loadkit; it must exist)
#   TARGET       the system under test's base URL (required), e.g. http://shop.shop:8080
#   INSTANCES    how many runner pods share the load (default: 4)
# Environment only:
#   IMAGE        the loadkit image (default: the manifests' loadkit:latest)
#   TEST_SCRIPT  a local k6/loadkit test to run instead of configmap.yaml's example
#   START_DELAY  seconds between starting the runners Job and the load (default: 30):
#                every runner pod must be scheduled, pulled and running by then
#   RUN_TIMEOUT  seconds to wait for the runners (default: 3600)
#   RUN_ID       the results' directory on the volume (default: the UTC time)
#
# Exit codes: the merge's (0 thresholds passed, 99 a threshold failed on the
# merged data), unless something went wrong before: the setup's when setup()
# failed (e.g. 107; no load was sent then); the highest runner exit code when
# a runner failed otherwise than 0 or 99 (e.g. 104, 105, 107, 108; teardown
# and merge still run, but the merge covers part of the test only); 1 when
# the runners timed out or a part is missing; 2 for a usage mistake.
#
# Needs kubectl (1.29+, as the cluster: see runners-job.yaml) with a context
# for the cluster. Results stay on the loadkit-results volume under RUN_ID.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ns=${1:-${NAMESPACE:-loadkit}}
target=${2:-${TARGET:-}}
instances=${3:-${INSTANCES:-4}}
image=${IMAGE:-}
start_delay=${START_DELAY:-30}
run_timeout=${RUN_TIMEOUT:-3600}
run_id=${RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}

usage() {
  echo "usage: $0 [NAMESPACE [TARGET_URL [INSTANCES]]]   (or NAMESPACE, TARGET, INSTANCES in the environment)" >&2
  exit 2
}
log() { echo "run.sh: $*" >&2; }

[[ -n $target ]] || { log "no target: give TARGET_URL (the system under test)"; usage; }
[[ $target =~ ^https?:// ]] || { log "TARGET must be an http:// or https:// URL, found '$target'"; usage; }
[[ $instances =~ ^[1-9][0-9]*$ ]] || { log "INSTANCES must be a positive integer, found '$instances'"; usage; }
[[ $start_delay =~ ^[0-9]+$ && $run_timeout =~ ^[0-9]+$ ]] || { log "START_DELAY and RUN_TIMEOUT are seconds"; usage; }
[[ $run_id =~ ^[A-Za-z0-9._-]+$ ]] || { log "RUN_ID may hold letters, digits, '.', '_' and '-' only"; usage; }
[[ -z ${TEST_SCRIPT:-} || -r ${TEST_SCRIPT:-} ]] || { log "cannot read TEST_SCRIPT=$TEST_SCRIPT"; exit 2; }
command -v kubectl >/dev/null || { log "kubectl not found"; exit 2; }

k() { kubectl --namespace "$ns" "$@"; }

# The time START_DELAY seconds from now, in RFC 3339 (GNU date, else BSD date).
start_at_time() {
  local t=$(( $(date +%s) + start_delay ))
  date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$t" +%Y-%m-%dT%H:%M:%SZ
}

# The loadkit-run ConfigMap every Job reads its parameters from.
set_run_params() {  # START_AT
  kubectl create configmap loadkit-run --namespace "$ns" \
    --from-literal=TARGET="$target" --from-literal=INSTANCES="$instances" \
    --from-literal=RUN_ID="$run_id" --from-literal=START_AT="$1" \
    --dry-run=client -o yaml | k apply -f - >/dev/null
}

# Creates a Job from its manifest, with IMAGE and (for the runners)
# INSTANCES put in. A Job's pod template cannot change, so a Job left from
# an earlier run is deleted first (with its pods: --cascade=foreground).
start_job() {  # NAME FILE
  local name=$1 file=$here/$2
  k delete job "$name" --ignore-not-found --cascade=foreground --wait=true >/dev/null || return 1
  {
    if [[ -n $image ]]; then kubectl set image --local -f "$file" "*=$image" -o yaml; else cat "$file"; fi
  } | {
    if [[ $name == loadkit-runners ]]; then
      kubectl patch --local -f - --type=merge -p "{\"spec\":{\"completions\":$instances,\"parallelism\":$instances}}" -o yaml
    else cat; fi
  } | k apply -f - >/dev/null || { log "could not create Job $name"; return 1; }
  log "started Job $name"
}

# Waits until the Job has finished; prints Complete or Failed (or Timeout).
wait_job() {  # NAME TIMEOUT_SECONDS
  local name=$1 deadline=$(( $(date +%s) + $2 )) conditions
  while (( $(date +%s) < deadline )); do
    conditions=$(k get job "$name" -o jsonpath='{range .status.conditions[*]}{.type}={.status}{" "}{end}')
    case " $conditions " in
      *" Complete=True "*) echo Complete; return ;;
      *" Failed=True "*) echo Failed; return ;;
    esac
    sleep 5
  done
  echo Timeout
}

# "INDEX EXIT_CODE" for each finished pod of the Job (INDEX: the completion
# index, "-" for a Job that is not Indexed); pods still running are left out.
exit_codes() {  # NAME
  k get pods --selector "job-name=$1" -o jsonpath='{range .items[*]}i={.metadata.annotations.batch\.kubernetes\.io/job-completion-index} c={.status.containerStatuses[0].state.terminated.exitCode}{"\n"}{end}' |
    sed -n -e 's/^i= /i=- /' -e 's/^i=\([0-9-]*\) c=\([0-9][0-9]*\)$/\1 \2/p'
}

# Runs a single-pod Job to its end, shows its log, and prints its exit code
# (1 when it has none: it timed out or never ran).
run_step() {  # NAME FILE TIMEOUT_SECONDS
  local name=$1 state code
  start_job "$name" "$2" || { echo 1; return; }
  state=$(wait_job "$name" "$3")
  k logs "job/$name" --all-containers >&2 || true
  code=$(exit_codes "$name" | awk '{ print $2; exit }')
  [[ $state == Timeout ]] && { log "$name did not finish within $3 s"; k delete job "$name" --cascade=foreground --wait=false >/dev/null || true; code=1; }
  echo "${code:-1}"
}

# ---- refuse to start over a run in progress
active=$(k get job loadkit-runners -o jsonpath='{.status.active}' 2>/dev/null || true)
if [[ -n $active && $active != 0 ]]; then
  log "the loadkit-runners Job in namespace $ns still has $active pod(s) running: wait for it or delete it"
  exit 2
fi

# ---- the test, the results volume, the run's parameters
k apply -f "$here/configmap.yaml" -f "$here/results-pvc.yaml" >/dev/null
if [[ -n ${TEST_SCRIPT:-} ]]; then
  kubectl create configmap loadkit-test --namespace "$ns" --from-file=test.js="$TEST_SCRIPT" --dry-run=client -o yaml | k apply -f - >/dev/null
  log "the test is $TEST_SCRIPT"
fi
set_run_params ""
log "run $run_id: $instances instance(s) against $target, results in loadkit-results:/$run_id/"

# ---- 1. setup() once
code=$(run_step loadkit-setup setup-job.yaml 600)
if [[ $code != 0 ]]; then
  log "setup failed (exit code $code): no load was sent"
  exit "$code"
fi

# ---- 2. the runners, all starting at the same moment
start_at=$(start_at_time)
set_run_params "$start_at"
start_job loadkit-runners runners-job.yaml
log "$instances runner(s) start at $start_at"
state=$(wait_job loadkit-runners "$(( start_delay + run_timeout ))")
runner_worst=0
while read -r index code; do
  log "runner $index exited $code"
  if [[ $code != 0 && $code != 99 ]] && (( code > runner_worst )); then runner_worst=$code; fi
done < <(exit_codes loadkit-runners | sort -n)
if k logs --selector job-name=loadkit-runners --prefix --tail=-1 --max-log-requests "$instances" 2>/dev/null | grep -F 'has passed: starting now' >&2; then
  log "warning: some runners started late (after START_AT): raise START_DELAY (now $start_delay s)"
fi
if [[ $state == Timeout ]]; then
  log "the runners did not finish within $run_timeout s after the start: stopping them"
  k delete job loadkit-runners --cascade=foreground --wait=true >/dev/null || true
  runner_worst=1
fi
if (( runner_worst != 0 )); then
  log "a runner failed (exit code $runner_worst); the runners' last lines:"
  k logs --selector job-name=loadkit-runners --prefix --tail=20 --max-log-requests "$instances" >&2 || true
elif [[ $state == Failed ]]; then
  log "the runners Job is Failed because a runner's own thresholds failed (exit 99): the merge judges them on all the data"
fi

# ---- 3. teardown() once, whatever the runners did (as k6 does)
code=$(run_step loadkit-teardown teardown-job.yaml 600)
[[ $code == 0 ]] || log "warning: teardown failed (exit code $code)"

# ---- 4. merge: the verdict
merge_code=$(run_step loadkit-merge merge-job.yaml 600)
log "merge exited $merge_code (0: thresholds passed, 99: a threshold failed)"
if (( runner_worst != 0 )); then
  log "but a runner failed (exit code $runner_worst): the merged result covers part of the test only"
  exit "$runner_worst"
fi
exit "$merge_code"
