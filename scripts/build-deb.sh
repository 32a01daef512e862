#!/usr/bin/env bash
# Builds the Debian package from this checkout in one command: `make install` (release, the Swift runtime linked
# statically, stripped) into a staging tree, Depends computed by dpkg-shlibdeps, conffiles, maintainer scripts, then
# dpkg-deb. Prints the .deb's path. Options through the environment: OUT (directory, default .build/deb), VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${OUT:-.build/deb}
version=${VERSION:-0.1.0+git$(git rev-list --count HEAD 2>/dev/null || echo 0)}
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root

make install DESTDIR="$root" PREFIX=/usr UNITDIR=/lib/systemd/system >&2

# sasl2-bin owns saslpasswd2(8) and sasldblistusers2(8): ours wait beside them for `cyrus-names enable`.
install -d "$root/usr/share/sasldb/man8"
for name in saslpasswd2 sasldblistusers2; do
  mv "$root/usr/share/man/man8/$name.8" "$root/usr/share/sasldb/man8/$name.8"
done
gzip -9n "$root"/usr/share/man/man8/*.8 "$root"/usr/share/sasldb/man8/*.8
install -m 0755 dist/debian/cyrus-names "$root/usr/share/sasldb/cyrus-names"
install -d "$root/usr/share/doc/sasldb" "$root/usr/share/lintian/overrides"
install -m 0644 dist/debian/copyright "$root/usr/share/doc/sasldb/copyright"
# A native package (no Debian revision): the changelog is changelog.gz.
sed "s/@VERSION@/$version/; s/@DATE@/$(date -R)/" dist/debian/changelog | gzip -9n >"$root/usr/share/doc/sasldb/changelog.gz"
install -m 0644 dist/debian/lintian-overrides "$root/usr/share/lintian/overrides/sasldb"

install -d "$root/DEBIAN"
for script in postinst prerm postrm; do install -m 0755 "dist/debian/$script" "$root/DEBIAN/$script"; done
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"

# dpkg-shlibdeps wants a debian/control beside it; it reads only the package's name from it.
install -d "$stage/debian"
printf 'Source: sasldb\n\nPackage: sasldb\nArchitecture: any\n' >"$stage/debian/control"
mapfile -t elves < <(find "$root/usr/bin" "$root/usr/sbin" -type f)
depends=$(cd "$stage" && dpkg-shlibdeps -O "${elves[@]/#/-e}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
  dist/debian/control.in >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's| \./| |') \
  >"$root/DEBIAN/md5sums"
mkdir -p "$out"
deb="$out/sasldb_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
