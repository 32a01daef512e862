#!/usr/bin/env bash
# The shipped systemd units: `systemd-analyze verify` clean, and `systemd-analyze security --offline=yes` at most 2.0
# for the daemon's unit and 1.5 for the password writer's. No systemd has to run. verify wants the ExecStart=
# programs where the units name them, so it runs in a private mount namespace where /usr/sbin holds the built
# sasl-smtpd (BIN, default: swift build's debug directory).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BIN:-$(swift build --show-bin-path)}
units=$PWD/dist/systemd
status=0

output=$(unshare --mount --propagation private sh -c '
  mount -t tmpfs tmpfs /usr/sbin && install -m 0755 "$1/sasl-smtpd" /usr/sbin/sasl-smtpd &&
  systemd-analyze verify --man=no "$2/sasl-smtpd.service" "$2/sasl-smtpd-writer.socket" \
    "$2/sasl-smtpd-writer@.service"' sh "$bin" "$units" 2>&1) || status=1
if [[ -n $output ]]; then
  echo "systemd-analyze verify:" >&2
  echo "$output" >&2
  status=1
fi

check_exposure() { # unit limit
  local score
  score=$(systemd-analyze security --offline=yes "$units/$1" 2>/dev/null |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  if [[ -z $score ]] || ! awk -v s="$score" -v l="$2" 'BEGIN { exit !(s <= l) }'; then
    echo "systemd-analyze security $1: exposure ${score:-unknown}, more than $2" >&2
    status=1
  else
    echo "systemd-analyze security $1: $score (limit $2)"
  fi
}
check_exposure sasl-smtpd.service 2.0
check_exposure sasl-smtpd-writer@.service 1.5
exit "$status"
