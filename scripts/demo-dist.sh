#!/usr/bin/env bash
# make demo-dist: distributed mode on one machine. Starts an embedded
# Temporal server and a throwaway PostgreSQL on loopback
# (tokenflow-devcluster), a simulated fleet of VCF appliances whose writes
# take a while, and two `tokenflow worker` processes; submits the fleet's
# onboarding as one workflow per target; SIGKILLs one worker while writes
# are in flight; and shows every target finishing on the other, each with
# one token, and a second submission changing nothing.
#
# Everything runs in a temporary directory and stops when the script ends.
# docs/fleets.md says how to point the same commands at a real Temporal
# cluster and PostgreSQL.
set -euo pipefail

N=${DEMO_DIST_TARGETS:-20}
BIN=${BIN:-bin}
TF=$BIN/tokenflow
FLOW=flows/vcf/onboard.star

work=$(mktemp -d /tmp/tokenflow-demo-dist.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # exit runs cleanup
step() { printf '\n==> %s\n' "$*"; }
fail() { echo "demo-dist: $*" >&2; exit 1; }

# waitfor FILE PATTERN SECONDS: until FILE holds PATTERN.
waitfor() {
	for _ in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no \"$2\" in $1 after $3s:$(printf '\n'; tail -20 "$1")"
}

step "Temporal (embedded, in memory) and PostgreSQL (throwaway) on loopback"
"$BIN/tokenflow-devcluster" --env "$work/cluster.env" >"$work/cluster.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do [ -f "$work/cluster.env" ] && break; sleep 0.1; done
[ -f "$work/cluster.env" ] || fail "the dev cluster did not start:$(printf '\n'; cat "$work/cluster.log")"
# shellcheck disable=SC1091
. "$work/cluster.env"
echo "Temporal $TEMPORAL (namespace $TEMPORAL_NAMESPACE), PostgreSQL ${STATE_URL%%\?*}"

step "$N simulated VCF appliances; every write takes 1.5 s"
"$TF" sim --targets "$N" vcf --set vcf.write_latency=1500ms --dir "$work/sim" --inventory "$work/fleet.yaml" >"$work/sim.log" 2>&1 &
pids+=($!)
waitfor "$work/sim.log" "Inventory:" 30
export VCF_PASSWORD
VCF_PASSWORD=$(sed -n "s/.*export VCF_PASSWORD='\(.*\)'/\1/p" "$work/sim.log")
[ -n "$VCF_PASSWORD" ] || fail "no VCF_PASSWORD in the simulator's output"
export TOKENFLOW_STATE_KEY="$work/key.txt"
T=(--temporal "$TEMPORAL" --namespace "$TEMPORAL_NAMESPACE")

step "Two workers share the state in PostgreSQL"
"$TF" --state "$STATE_URL" worker "${T[@]}" >"$work/worker-a.log" 2>&1 &
worker_a=$!
disown "$worker_a" # its SIGKILL is the demo, not news from the shell
pids+=($worker_a)
waitfor "$work/worker-a.log" "Ctrl-C stops it" 60 # the first one makes the state key
"$TF" --state "$STATE_URL" worker "${T[@]}" >"$work/worker-b.log" 2>&1 &
pids+=($!)
waitfor "$work/worker-b.log" "Ctrl-C stops it" 60
echo "worker A (pid $worker_a) and worker B are polling"

step "tokenflow run $FLOW --targets fleet.yaml --temporal ...: one workflow per target"
"$TF" --state "$STATE_URL" run "$FLOW" --targets "$work/fleet.yaml" "${T[@]}" >"$work/run.out" 2>"$work/run.err" &
run=$!
# Kill worker A once the appliances have started answering token writes:
# with every write held 1.5 s, some of its calls are in flight.
for _ in $(seq 600); do
	[ "$(grep -c '^ok' "$work/run.out" 2>/dev/null || true)" -ge 2 ] && break
	kill -0 "$run" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$worker_a" 2>/dev/null && echo "SIGKILLed worker A (pid $worker_a) with $(grep -c '^ok' "$work/run.out" || true) of $N targets done; worker B takes its calls over"
code=0
wait "$run" || code=$?
cat "$work/run.out"
[ "$code" -eq 0 ] || fail "the fleet run exited $code:$(printf '\n'; cat "$work/run.err"; tail -20 "$work/worker-b.log")"
ok=$(grep -c '^ok' "$work/run.out" || true)
[ "$ok" -eq "$N" ] || fail "$ok of $N targets ok"

step "Every target has exactly one current token"
"$TF" --state "$STATE_URL" tokens >"$work/tokens.out"
head -5 "$work/tokens.out" # from the file: head on a pipe would SIGPIPE the writer under pipefail
echo "..."
current=$(grep -c '^vcf-' "$work/tokens.out" || true)
distinct=$(awk '/^vcf-/ {print $1}' "$work/tokens.out" | sort -u | wc -l)
[ "$current" -eq "$N" ] && [ "$distinct" -eq "$N" ] || fail "$current current tokens over $distinct targets, want one for each of $N"

step "Submitting again runs the flow again, and it converges: no write"
"$TF" --state "$STATE_URL" run "$FLOW" --targets "$work/fleet.yaml" "${T[@]}" --json >"$work/again.out" 2>"$work/again.err" ||
	fail "second submission:$(printf '\n'; cat "$work/again.err")"
tail -1 "$work/again.out"

printf '\ndemo-dist: %d targets onboarded by two workers, one killed mid-write; every target has one token.\n' "$N"
