#!/usr/bin/env bash
# cyrus-transcripts.sh — record what saslpasswd2 / sasldblistusers2 print and
# return for a fixed set of invocations, so that Cyrus SASL's tools and our
# own personalities (`sasldb saslpasswd2 …`) can be diffed.
#
# Usage:
#   [SASLPASSWD2='cmd …'] [SASLDBLISTUSERS2='cmd …'] [CASE_TIMEOUT=10] \
#       cyrus-transcripts.sh OUTDIR
#
#   SASLPASSWD2       command for saslpasswd2 (default /usr/sbin/saslpasswd2);
#   SASLDBLISTUSERS2  command for sasldblistusers2 (default /usr/sbin/sasldblistusers2).
#   Both are word-split (no quoting inside), so `SASLPASSWD2="sasldb saslpasswd2"`
#   works. A one-word command is run with argv[0] set to its basename
#   (bash `exec -a`), so Cyrus prints `saslpasswd2:` whatever path it was
#   given; a multi-word command is run as given.
#
# For each case NAME it writes OUTDIR/NAME.out (stdout), NAME.err (stderr),
# NAME.rc (exit status, "124" = killed by the per-case timeout), and
# OUTDIR/cases.txt lists the case names in run order. In all outputs the
# scratch directory's path is replaced by @TMP@ and the host name (as given by
# `hostname`, and its lowercase form, which libsasl uses as the default realm)
# by @HOST@ (whole words only). Compare two runs with `diff -r OUTDIR1 OUTDIR2`.
#
# Finding (Debian 12, 2.1.28): the program name in messages is NOT uniform.
#   * Cyrus's own messages use the basename of argv[0]:
#       /usr/sbin/saslpasswd2 -h  ->  "saslpasswd2: usage: saslpasswd2 [-v] …"
#       error lines               ->  "saslpasswd2: generic failure"
#   * glibc getopt's message uses argv[0] verbatim:
#       /usr/sbin/saslpasswd2 -x  ->  "/usr/sbin/saslpasswd2: invalid option -- 'x'"
#     (exec -a /some/where/foo gives "/some/where/foo: invalid option" and
#     "foo: usage: foo …").
#   This script therefore runs one-word commands with argv[0] = basename, the
#   form an administrator gets by running the tool from $PATH; expected/
#   holds both variants of the bad-option output.
#
# Isolation: every invocation uses an absolute -f path inside a fresh
# `mktemp -d` directory (never /etc/sasldb2; `sasldblistusers2` without a path
# and `saslpasswd2 -f ''` would read/write /etc/sasldb2 and are deliberately
# NOT run), SASL_CONF_PATH points at an empty directory inside it (so no
# saslpasswd.conf from /etc is read), LC_ALL=C (getopt messages are
# localised), umask 022, stdin is /dev/null unless a password is piped, so
# saslpasswd2 is never on a terminal.
# Not covered here: mismatched passwords (saslpasswd2 reads twice only on a
# tty; see cyrus-tty.py), and anything needing a tty.

set -u
set -o pipefail

if [ $# -ne 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

OUTDIR=$1
SASLPASSWD2=${SASLPASSWD2:-/usr/sbin/saslpasswd2}
SASLDBLISTUSERS2=${SASLDBLISTUSERS2:-/usr/sbin/sasldblistusers2}
CASE_TIMEOUT=${CASE_TIMEOUT:-10}

read -r -a SP_CMD <<<"$SASLPASSWD2"
read -r -a LS_CMD <<<"$SASLDBLISTUSERS2"
if [ ${#SP_CMD[@]} -eq 0 ] || [ ${#LS_CMD[@]} -eq 0 ]; then
    echo "cyrus-transcripts.sh: empty command" >&2
    exit 2
fi
for c in "${SP_CMD[0]}" "${LS_CMD[0]}"; do
    if ! command -v -- "$c" >/dev/null 2>&1; then
        echo "cyrus-transcripts.sh: command not found: $c" >&2
        exit 2
    fi
done

mkdir -p -- "$OUTDIR" || exit 2
OUTDIR=$(cd -- "$OUTDIR" && pwd) || exit 2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cyrus-transcripts.XXXXXX") || exit 2
cleanup() { rm -rf -- "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$TMP/conf" "$TMP/raw"

export LC_ALL=C LANG=C
unset LANGUAGE
export SASL_CONF_PATH="$TMP/conf"
umask 022
cd "$TMP" || exit 2

HOST=$(hostname 2>/dev/null || uname -n)
HOST_LC=$(printf '%s' "$HOST" | tr 'A-Z' 'a-z')

# escape a literal for use in a sed regex (delimiter |)
sed_escape() { printf '%s' "$1" | sed -e 's/[][\\.*^$|/+?(){}]/\\&/g'; }
TMP_RE=$(sed_escape "$TMP")
HOST_RE=$(sed_escape "$HOST")
HOST_LC_RE=$(sed_escape "$HOST_LC")

sanitize() {
    sed -E -e "s|$TMP_RE|@TMP@|g" \
        -e "s|\\b$HOST_RE\\b|@HOST@|g" \
        -e "s|\\b$HOST_LC_RE\\b|@HOST@|g"
}

# run one of the tools: run_tool sp|ls ARGS...
run_tool() {
    local which=$1
    shift
    local -a cmd
    if [ "$which" = sp ]; then cmd=("${SP_CMD[@]}"); else cmd=("${LS_CMD[@]}"); fi
    if [ ${#cmd[@]} -eq 1 ]; then
        timeout -k 2 "$CASE_TIMEOUT" bash -c 'n=$1; shift; exec -a "$n" "$@"' \
            _ "$(basename -- "${cmd[0]}")" "${cmd[0]}" "$@"
    else
        timeout -k 2 "$CASE_TIMEOUT" "${cmd[@]}" "$@"
    fi
}

CASES=()
# case NAME STDIN_BYTES|- sp|ls ARGS...
#   STDIN_BYTES is a printf format string fed to stdin; "-" means </dev/null.
case_() {
    local name=$1 input=$2
    shift 2
    local raw="$TMP/raw/$name" rc
    if [ "$input" = "-" ]; then
        run_tool "$@" </dev/null >"$raw.out" 2>"$raw.err"
        rc=$?
    else
        # shellcheck disable=SC2059
        printf -- "$input" | run_tool "$@" >"$raw.out" 2>"$raw.err"
        rc=${PIPESTATUS[1]}
    fi
    printf '%s\n' "$rc" >"$raw.rc"
    sanitize <"$raw.out" >"$OUTDIR/$name.out"
    sanitize <"$raw.err" >"$OUTDIR/$name.err"
    cp -- "$raw.rc" "$OUTDIR/$name.rc"
    CASES+=("$name")
}

# record a non-tool observation (e.g. a file mode) as a case
note_() {
    local name=$1
    shift
    "$@" >"$TMP/raw/$name.out" 2>"$TMP/raw/$name.err"
    printf '%s\n' "$?" >"$OUTDIR/$name.rc"
    sanitize <"$TMP/raw/$name.out" >"$OUTDIR/$name.out"
    sanitize <"$TMP/raw/$name.err" >"$OUTDIR/$name.err"
    CASES+=("$name")
}

DB="$TMP/users.db"
LIST=(ls -f "$DB")

# --- creating and updating -------------------------------------------------
case_ create            'secret1\n'   sp -c -p -f "$DB" alice
note_ create-file-mode  stat -c '%a' "$DB"
case_ list-after-create -             "${LIST[@]}"
case_ update            'secret2\n'   sp -p -f "$DB" alice
case_ update-with-c     'secret3\n'   sp -c -p -f "$DB" alice
case_ create-realm      'pw-bob\n'    sp -c -p -u Example.COM -f "$DB" bob
case_ create-user-at-realm 'pw-carol\n' sp -c -p -f "$DB" carol@Other.ORG
case_ user-at-realm-beats-u 'pw-dan\n' sp -c -p -u Example.COM -f "$DB" dan@Other.ORG
case_ create-double-at  'pw-eve\n'    sp -c -p -f "$DB" 'eve@b@c'
case_ create-empty-u    'pw-fay\n'    sp -c -p -u '' -f "$DB" fay
case_ operand-before-option 'pw-gus\n' sp gus -p -f "$DB"
case_ create-no-newline 'pw-hal'      sp -p -f "$DB" hal
# -n is a documented difference (Cyrus stores nothing): it gets a file of its own so the other listings compare.
case_ create-n-flag     'pw-ida\n'    sp -c -p -n -f "$TMP/n.db" ida
case_ list-n-flag       -             ls -f "$TMP/n.db"
case_ create-not-p-pipe 'pw-jo\n'     sp -c -f "$DB" jo

# --- listing -----------------------------------------------------------------
case_ list-f            -             ls -f "$DB"
case_ list-bare-operand -             ls "$DB"
case_ list-two-operands -             ls "$DB" "$DB"
case_ list-missing-file -             ls -f "$TMP/nonexistent.db"
case_ list-missing-file-bare -        ls "$TMP/nonexistent.db"

# --- deleting ----------------------------------------------------------------
case_ delete            -             sp -d -f "$DB" alice
case_ list-after-delete -             "${LIST[@]}"
case_ delete-missing    -             sp -d -f "$DB" nobody
case_ delete-realm      -             sp -d -u Example.COM -f "$DB" bob
case_ list-after-delete-realm -       "${LIST[@]}"

# --- password edge cases (pipe mode) -------------------------------------------
case_ empty-password    ''            sp -p -f "$DB" u5
case_ newline-password  '\n'          sp -p -f "$DB" u6
case_ list-after-empty  -             "${LIST[@]}"
# (mismatched passwords: only on a tty, where saslpasswd2 asks twice; not here)

# --- usage errors --------------------------------------------------------------
# These carry -f "$UNUSED" (Cyrus prints the same with or without it) so that
# a faulty implementation under test cannot fall back to /etc/sasldb2; the
# file must not exist afterwards (checked by the unused-file-absent case).
UNUSED="$TMP/unused.db"
case_ sp-bad-flag       -             sp -x -f "$UNUSED" alice
case_ ls-bad-flag       -             ls -x -f "$UNUSED"
case_ sp-c-and-d        -             sp -c -d -f "$UNUSED" alice
case_ sp-no-operand     -             sp -f "$UNUSED"
case_ sp-no-args        -             sp
case_ sp-two-operands   'pw\n'        sp -p -f "$UNUSED" alice bob
case_ sp-h              -             sp -h -f "$UNUSED"
case_ ls-h              -             ls -h -f "$UNUSED"
case_ sp-question       -             sp '-?' -f "$UNUSED"
case_ sp-v              -             sp -v -f "$UNUSED"
case_ ls-v              -             ls -v -f "$UNUSED"
case_ sp-missing-f-arg  -             sp -f
case_ ls-missing-f-arg  -             ls -f
case_ sp-appname-slash  'pw\n'        sp -p -a a/b -f "$UNUSED" alice

note_ unused-file-absent  test ! -e "$UNUSED"

# --- bad files -----------------------------------------------------------------
case_ sp-missing-dir    'newpw\n'     sp -c -p -f "$TMP/nonexistent/x.db" zed
printf 'this is not a database\n' >"$TMP/corrupt.db"
case_ sp-corrupt-file   'pw\n'        sp -p -f "$TMP/corrupt.db" alice
case_ ls-corrupt-file   -             ls -f "$TMP/corrupt.db"
note_ corrupt-file-unchanged cat "$TMP/corrupt.db"
# (a directory as -f is not recorded: libdb's message contains a stack address)

printf '%s\n' "${CASES[@]}" >"$OUTDIR/cases.txt"
echo "cyrus-transcripts.sh: ${#CASES[@]} cases written to $OUTDIR" >&2
