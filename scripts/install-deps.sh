#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the benchmarks need, only those that are missing.
set -euo pipefail

packages=(
  libgdbm-dev libdb5.3-dev libssl-dev libidn-dev   # the system libraries we link
  sasl2-bin libsasl2-modules            # Cyrus's own tools and mechanisms: the peers of the interop tests
  gdbmtool db5.3-util                   # raw views of GDBM and Berkeley DB files
  gsasl libauthen-sasl-perl libdigest-hmac-perl   # GNU SASL's and Perl's SASL clients: mechanism peers
  swaks libnet-ssleay-perl libio-socket-ssl-perl curl msmtp openssl   # SMTP clients of the server tests
  postfix                               # an MTA relaying through the server (private instances in the tests)
  dovecot-core                          # doveadm auth test: a client of the Dovecot auth socket (no dovecot runs)
  libnss-wrapper libspf2-2              # Exim's binary, taken with apt-get download (it conflicts with postfix), run
                                        # under nss_wrapper for its compiled-in user Debian-exim; libspf2 it links
  python3 hyperfine                     # interop harness, benchmarks
  strace valgrind                       # Benchmarks/smtp/syscall_profile.py and callgrind_profile.py
  mandoc                                # the man pages' linter (scripts/lint-docs.sh)
  libpam0g-dev                          # PAM as a password source (target CPAM)
  libpam-wrapper                        # libpam_wrapper.so and pam_matrix.so: PAM tests without real system users
  postgresql libsasl2-modules-sql dovecot-pgsql   # the PostgreSQL backend's server, and its Cyrus and Dovecot readers
  systemd                               # systemd-analyze verify/security, sysusers, tmpfiles, socket-activate
  dpkg-dev lintian fakeroot             # scripts/build-deb.sh (dpkg-shlibdeps) and the package's lint
  debootstrap                           # the Debian 12 tree the package is installed into (scripts/debian-tree.sh)
  rpm                                   # rpmbuild for dist/rpm/sasldb.spec
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration" leaves /etc/postfix without a main.cf, so no system Postfix is set up or started: the tests
  # run their own instances, each with its own configuration and queue directories.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The tests need nothing on port 25 and never touch it; a listener there is some other MTA, which they leave alone.
if grep -qE '^ *[0-9]+: [0-9A-F]+:0019 [0-9A-F]+:[0-9A-F]+ 0A ' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
  echo "note: something listens on port 25; the Postfix tests run a private instance on another port" >&2
fi
