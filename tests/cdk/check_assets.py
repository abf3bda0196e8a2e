"""Checks a synthesized cloud assembly: every Model Guard function's asset is a directory holding
exactly one file, `bootstrap`, an ELF64 executable for aarch64; prints each one's size and zipped
size (as CDK uploads it), and writes them to asset-sizes.json in the assembly."""

import json
import sys
import zipfile
from io import BytesIO
from pathlib import Path

EM_AARCH64 = 183
FUNCTIONS = {"parse-event", "record", "evaluate", "claim", "enforce", "notify", "approve", "sweep", "health", "watch"}


def elf_machine(data: bytes) -> int | None:
    # ELF64 little-endian: magic, EI_CLASS = 2, EI_DATA = 1, e_machine at byte 18.
    if len(data) < 20 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    return int.from_bytes(data[18:20], "little")


def main(assembly: Path) -> int:
    manifest = json.loads((assembly / "manifest.json").read_text())
    templates = [
        a["properties"]["templateFile"]
        for a in manifest["artifacts"].values()
        if a["type"] == "aws:cloudformation:stack"
    ]
    problems, sizes = [], {}
    for template_file in templates:
        resources = json.loads((assembly / template_file).read_text())["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            name = props.get("Description", "").removeprefix("Model Guard ")
            if name not in FUNCTIONS:
                continue  # CDK's own helper functions
            asset = assembly / ("asset." + props["Code"]["S3Key"].removesuffix(".zip"))
            files = sorted(p.name for p in asset.iterdir()) if asset.is_dir() else []
            if files != ["bootstrap"]:
                problems.append(f"{name} ({logical_id}): asset {asset.name} holds {files}, not one bootstrap")
                continue
            data = (asset / "bootstrap").read_bytes()
            machine = elf_machine(data)
            if machine != EM_AARCH64:
                problems.append(f"{name}: bootstrap is not an aarch64 ELF64 (e_machine {machine})")
            if props.get("Architectures") != ["arm64"]:
                problems.append(f"{name}: the function is not declared arm64")
            buffer = BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("bootstrap", data)
            sizes[name] = {"bytes": len(data), "zipped_bytes": buffer.getbuffer().nbytes}
    missing = FUNCTIONS - sizes.keys()
    if missing:
        problems.append(f"no asset for {sorted(missing)}")
    for name in sorted(sizes):
        s = sizes[name]
        print(f"{name:12} aarch64 bootstrap {s['bytes']:>10,} B, zipped {s['zipped_bytes']:>10,} B")
    (assembly / "asset-sizes.json").write_text(json.dumps(sizes, indent=2, sort_keys=True) + "\n")
    for problem in problems:
        print(f"check_assets: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_assets.py CDK_OUT_DIR")
    sys.exit(main(Path(sys.argv[1])))
