# SPDX-License-Identifier: GPL-2.0
# Common settings of the build and test scripts; sourced, never run.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
ARCH=${ARCH:-x86_64}
SRC=$BUILD/linux
# KVARIANT=perf: configs/$ARCH-perf.config on top (make bench KVARIANT=perf)
KVARIANT=${KVARIANT:-}
OBJ=$BUILD/obj-$ARCH${KVARIANT:+-$KVARIANT}
HDR=$BUILD/hdr-$ARCH
TESTS=$BUILD/tests-$ARCH
JOBS=${JOBS:-$(($(nproc) + 1))}
# s390x is cross-built (kernel, test programs, the VM's init).
case $ARCH in
s390) export CROSS_COMPILE=${CROSS_COMPILE:-s390x-linux-gnu-} ;;
esac

# The Debian package and the exact version we test against; older or newer
# versions of the package are used only when this one cannot be installed.
KPKG=linux-source-6.12
KPKG_VERSION=${KPKG_VERSION:-6.12.117-1~deb12u1}

log() { printf '>>> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

sha_ok() { # FILE SHA256
	[ -f "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$2" ]
}

# Add bookworm-backports to apt, binaries and sources (apt-get source needs
# deb-src), unless a source already names it. Sets BPO_ADDED=1 when it
# wrote one: the caller runs apt-get update.
backports_source() {
	local f=/etc/apt/sources.list.d/backports.sources
	if grep -rqs 'bookworm-backports' /etc/apt/sources.list \
			/etc/apt/sources.list.d/; then
		return 0
	fi
	log "adding bookworm-backports to apt ($f)"
	cat > "$f" <<-EOF
		Types: deb deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm-backports
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	BPO_ADDED=1
}

# An orig tarball from Debian's archive: fetch_orig DIR SRCPKG=VERSION FILE SHA256
# (apt-get source --download-only; only the orig tarball is needed and apt's
# exit code is not trusted, as a backport's .dsc or debian.tar.xz may be
# missing on the mirror; without a deb-src line for bookworm-backports one is
# added and the fetch retried). Dies unless FILE ends up with SHA256.
fetch_orig() {
	local dl=$1 pkg=$2 file=$3 sha=$4 alog=$1/apt-source-${2%%=*}.log
	mkdir -p "$dl"
	sha_ok "$dl/$file" "$sha" && return 0
	log "fetching $file (apt-get source)"
	[ "$(id -u)" = 0 ] && { backports_source; [ -z "${BPO_ADDED:-}" ] ||
		apt-get update -q >/dev/null; }
	(cd "$dl" && apt-get source -q --download-only "$pkg" > "$alog" 2>&1) || true
	if ! sha_ok "$dl/$file" "$sha" && [ "$(id -u)" = 0 ] &&
	   [ ! -f /etc/apt/sources.list.d/backports-src.sources ]; then
		log "adding deb-src for bookworm-backports"
		printf '%s\n' 'Types: deb-src' \
			'URIs: http://deb.debian.org/debian' \
			'Suites: bookworm-backports' 'Components: main' \
			'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
			> /etc/apt/sources.list.d/backports-src.sources
		apt-get update -q >/dev/null
		(cd "$dl" && apt-get source -q --download-only "$pkg" >> "$alog" 2>&1) || true
	fi
	sha_ok "$dl/$file" "$sha" || die "$dl/$file missing or wrong sha256 (see $alog)"
}
