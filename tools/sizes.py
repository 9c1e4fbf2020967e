"""Bootstrap sizes as Lambda receives them: each binary zipped (deflate, level 9) under
the name `bootstrap`. Reads arm64 builds from `sam build` (.aws-sam/build) and, with
--host, the host's release builds (target/release); prints a table, and with --json
writes {arch: {function: {bytes, zipped}}} for `hashbuy-bench --sizes`."""

import argparse
import io
import json
import pathlib
import platform
import re
import zipfile


def zipped_size(binary: pathlib.Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.write(binary, "bootstrap")
    return len(buffer.getvalue())


def function_name(logical_id: str) -> str:
    """XWebhookFunction -> x-webhook: the template's logical id back to the crate name."""
    words = re.findall(r"[A-Z][a-z0-9]*", logical_id.removesuffix("Function"))
    return "-".join(word.lower() for word in words)


def binaries(host: bool) -> dict[str, dict[str, pathlib.Path]]:
    found: dict[str, dict[str, pathlib.Path]] = {}
    for bootstrap in sorted(pathlib.Path(".aws-sam/build").glob("*/bootstrap")):
        found.setdefault("arm64", {})[function_name(bootstrap.parent.name)] = bootstrap
    if host:
        arch = platform.machine()
        for crate in sorted(pathlib.Path("functions").iterdir()):
            binary = pathlib.Path("target/release") / crate.name
            if not binary.is_file():
                raise SystemExit(f"{binary} is missing: build the release binaries first")
            found.setdefault(arch, {})[crate.name] = binary
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", action="store_true", help="also size target/release")
    parser.add_argument("--json", type=pathlib.Path, help="write the sizes here")
    args = parser.parse_args()
    sizes: dict[str, dict[str, dict[str, int]]] = {}
    for arch, found in binaries(args.host).items():
        total = 0
        for function, binary in found.items():
            size = {"bytes": binary.stat().st_size, "zipped": zipped_size(binary)}
            sizes.setdefault(arch, {})[function] = size
            total += size["zipped"]
            print(f"{arch:8} {function:18} bootstrap {size['bytes'] / 1e6:5.2f} MB, zipped {size['zipped'] / 1e6:5.2f} MB")
        print(f"{arch:8} {'all functions':18} zipped {total / 1e6:5.2f} MB")
    if not sizes:
        raise SystemExit("no bootstraps found: run tools/build-lambdas.sh, or pass --host")
    if args.json:
        args.json.write_text(json.dumps(sizes, indent=2))


if __name__ == "__main__":
    main()
