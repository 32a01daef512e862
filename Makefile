# Builds and installs sasldb: every executable product of Package.swift (release, the Swift runtime linked
# statically, stripped), the man pages, the site and daemon configuration, the systemd units, sysusers.d and
# tmpfiles.d entries, and the PAM service when dist/pam.d holds it.
#
#   make                 build
#   make install         install under $(DESTDIR)$(PREFIX) (default /usr/local) and $(DESTDIR)/etc (existing
#                        configuration files are left alone)
#   make uninstall       remove what install put there (configuration files are kept)
#
# scripts/build-deb.sh builds the Debian package from the same install (PREFIX=/usr).

PREFIX ?= /usr/local
DESTDIR ?=
# /etc whatever the prefix: the programs read /etc/sasl2/sasldb.conf and /etc/sasl-smtpd.conf by default.
SYSCONFDIR ?= /etc
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(LIBDIR)/systemd/system
SYSUSERSDIR ?= $(LIBDIR)/sysusers.d
TMPFILESDIR ?= $(LIBDIR)/tmpfiles.d
# The Cyrus names, for an administrator to divert sasl2-bin's to (see Docs/installing.md).
COMPATDIR ?= $(LIBDIR)/sasldb/cyrus
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?= -c release --static-swift-stdlib
INSTALL ?= install
STRIP ?= strip

# Every executable product, so a new one (sasldb-postgres) is built and installed without touching this file.
# sasldb goes to bin (users run `sasldb passwd`), every other one (daemons, admin tools) to sbin.
# Given on the command line (EXECUTABLES="..."), SwiftPM is not asked: a packaging step run while swift test holds
# the build directory would wait for its lock.
EXECUTABLES ?= $(shell $(SWIFT) package dump-package 2>/dev/null | python3 -c 'import json, sys; \
  print(" ".join(p["name"] for p in json.load(sys.stdin)["products"] if "executable" in p["type"]))')
USER_EXECUTABLES := sasldb
BUILD_DIR ?= $(shell $(SWIFT) build $(SWIFT_BUILD_FLAGS) --show-bin-path)
# NO_BUILD=1: install what BUILD_DIR already holds (a packaging step that must not run swift build itself).
NO_BUILD ?=

.PHONY: all build install uninstall

all: build

build:
	set -e; for product in $(EXECUTABLES); do $(SWIFT) build $(SWIFT_BUILD_FLAGS) --product $$product; done

install: $(if $(NO_BUILD),,build)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPATDIR) \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/sasl2
	set -e; for program in $(EXECUTABLES); do \
	  case " $(USER_EXECUTABLES) " in *" $$program "*) directory=$(BINDIR) ;; *) directory=$(SBINDIR) ;; esac; \
	  $(INSTALL) -m 0755 $(BUILD_DIR)/$$program $(DESTDIR)$$directory/$$program; \
	  $(STRIP) --strip-unneeded --remove-section=.comment --remove-section=.note $(DESTDIR)$$directory/$$program; \
	done
	set -e; for name in saslpasswd2 sasldblistusers2; do \
	  ln -srf $(DESTDIR)$(BINDIR)/sasldb $(DESTDIR)$(COMPATDIR)/$$name; done
	$(INSTALL) -m 0644 Docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/sbin/|$(SBINDIR)/|g' dist/systemd/sasl-smtpd.service \
	  > $(DESTDIR)$(UNITDIR)/sasl-smtpd.service
	sed 's|/usr/sbin/|$(SBINDIR)/|g' dist/systemd/sasl-smtpd-writer@.service \
	  > $(DESTDIR)$(UNITDIR)/sasl-smtpd-writer@.service
	$(INSTALL) -m 0644 dist/systemd/sasl-smtpd-writer.socket $(DESTDIR)$(UNITDIR)/
	chmod 0644 $(DESTDIR)$(UNITDIR)/sasl-smtpd.service $(DESTDIR)$(UNITDIR)/sasl-smtpd-writer@.service
	$(INSTALL) -m 0644 dist/sysusers.d/sasl-smtpd.conf $(DESTDIR)$(SYSUSERSDIR)/sasl-smtpd.conf
	$(INSTALL) -m 0644 dist/tmpfiles.d/sasl-smtpd.conf $(DESTDIR)$(TMPFILESDIR)/sasl-smtpd.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/sasl-smtpd.conf || \
	  $(INSTALL) -m 0644 dist/etc/sasl-smtpd.conf $(DESTDIR)$(SYSCONFDIR)/sasl-smtpd.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/sasl2/sasldb.conf || \
	  $(INSTALL) -m 0644 dist/etc/sasl2/sasldb.conf $(DESTDIR)$(SYSCONFDIR)/sasl2/sasldb.conf
	if [ -f dist/pam.d/sasl-smtpd ]; then \
	  $(INSTALL) -d $(DESTDIR)$(SYSCONFDIR)/pam.d && \
	  { test -e $(DESTDIR)$(SYSCONFDIR)/pam.d/sasl-smtpd || \
	    $(INSTALL) -m 0644 dist/pam.d/sasl-smtpd $(DESTDIR)$(SYSCONFDIR)/pam.d/sasl-smtpd; }; fi

uninstall:
	for program in $(EXECUTABLES); do rm -f $(DESTDIR)$(BINDIR)/$$program $(DESTDIR)$(SBINDIR)/$$program; done
	rm -rf $(DESTDIR)$(COMPATDIR)
	for page in Docs/man/*.8; do rm -f $(DESTDIR)$(MANDIR)/man8/$${page##*/}; done
	rm -f $(DESTDIR)$(UNITDIR)/sasl-smtpd.service $(DESTDIR)$(UNITDIR)/sasl-smtpd-writer@.service \
	  $(DESTDIR)$(UNITDIR)/sasl-smtpd-writer.socket $(DESTDIR)$(SYSUSERSDIR)/sasl-smtpd.conf \
	  $(DESTDIR)$(TMPFILESDIR)/sasl-smtpd.conf
