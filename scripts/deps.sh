#!/usr/bin/env bash
# deps.sh fetches the prebuilt llama.cpp libraries pinned in deps/llama.lock and unpacks them into lib/llama/.
#
# It downloads nothing but the pinned npm tarball (with `npm pack`, which installs nothing), refuses a tarball
# whose sha512 differs from the pinned one, and writes a stamp so that a second run returns at once.
# Several test binaries may run it at the same moment, so the whole job runs under a file lock.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock_file="$root/deps/llama.lock"
lib_dir="$root/lib/llama"
cache_dir="$root/.cache/npm-pack"
stamp="$lib_dir/.deps-stamp"

die() {
	echo "deps.sh: $*" >&2
	exit 1
}

# lock_value prints the value of KEY from deps/llama.lock (lines of key=value; # starts a comment).
lock_value() {
	local value
	value="$(sed -n "s/^$1=//p" "$lock_file")"
	[ -n "$value" ] || die "deps/llama.lock has no '$1=' line"
	printf '%s\n' "$value"
}

# sha512_hex_of_integrity turns an npm integrity string (sha512-<base64>) into the hex digest sha512sum prints.
sha512_hex_of_integrity() {
	case "$1" in
	sha512-*) printf '%s' "${1#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n' ;;
	*) die "deps/llama.lock: integrity must be a sha512-... value, got '$1'" ;;
	esac
}

[ -f "$lock_file" ] || die "missing $lock_file"
package="$(lock_value package)"
version="$(lock_value version)"
release="$(lock_value llama_release)"
integrity="$(lock_value integrity)"
want_hex="$(sha512_hex_of_integrity "$integrity")"
stamp_text="$package@$version $integrity"
main_lib="libllama.$release.so"

up_to_date() {
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ] && [ -f "$lib_dir/$main_lib" ]
}

if up_to_date; then
	exit 0
fi

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*) die "the pinned libraries are for Linux x86_64; this machine is $(uname -s)/$(uname -m)" ;;
esac

mkdir -p "$cache_dir"
exec 9>"$cache_dir/.lock"
flock 9
# Another run may have finished the job while this one waited for the lock.
if up_to_date; then
	exit 0
fi

# verified_tarball prints the path of the cached tarball once its sha512 matches the pin, downloading it when needed.
verified_tarball() {
	local tarball="$cache_dir/$(printf '%s' "${package#@}" | tr '/' '-')-$version.tgz"
	if [ ! -f "$tarball" ]; then
		command -v npm >/dev/null 2>&1 ||
			die "npm is required to fetch $package@$version: install Node.js and npm (\`make deps\` does it with apt-get)"
		local tmp
		tmp="$(mktemp -d "$cache_dir/pack.XXXXXX")"
		echo "deps.sh: fetching $package@$version with npm pack" >&2
		if ! (cd "$tmp" && npm pack --silent "$package@$version" >/dev/null); then
			rm -rf "$tmp"
			die "npm pack $package@$version failed (is the npm registry reachable?)"
		fi
		local packed=("$tmp"/*.tgz)
		[ -f "${packed[0]}" ] || { rm -rf "$tmp"; die "npm pack $package@$version produced no tarball"; }
		mv "${packed[0]}" "$tarball"
		rm -rf "$tmp"
	fi
	local got_hex
	got_hex="$(sha512sum "$tarball" | cut -d' ' -f1)"
	if [ "$got_hex" != "$want_hex" ]; then
		rm -f "$tarball"
		die "integrity check failed for $package@$version: sha512 $got_hex, deps/llama.lock pins $want_hex (tarball removed)"
	fi
	printf '%s\n' "$tarball"
}

tarball="$(verified_tarball)"

# Unpack into a fresh folder next to the target and swap it in, so lib/llama is never half written.
mkdir -p "$root/lib"
staging="$(mktemp -d "$root/lib/.llama.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
tar -xzf "$tarball" -C "$staging" --wildcards 'package/bins/linux-x64/*.so'
src="$staging/package/bins/linux-x64"
# The binding needs the ggml base and core, llama itself, and every CPU variant ggml_backend_load_all_from_path
# chooses from; libllama-common.so (llama.cpp's tool helpers) and the Node addon are not used.
mkdir -p "$staging/out"
for lib in libggml-base.so "libggml.$release.so" "$main_lib"; do
	[ -f "$src/$lib" ] || die "$package@$version has no bins/linux-x64/$lib (is llama_release in deps/llama.lock right?)"
	mv "$src/$lib" "$staging/out/"
done
cpu_variants=("$src"/libggml-cpu-*.so)
[ -f "${cpu_variants[0]}" ] || die "$package@$version has no CPU backend libraries (libggml-cpu-*.so)"
mv "${cpu_variants[@]}" "$staging/out/"
printf '%s\n' "$stamp_text" >"$staging/out/.deps-stamp"

rm -rf "$lib_dir"
mv "$staging/out" "$lib_dir"
echo "deps.sh: $package@$version (llama.cpp $release) unpacked into ${lib_dir#"$root"/}" >&2
