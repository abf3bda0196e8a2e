"""check_assets.py on small hand-made assemblies: it must pass aarch64 bootstraps and catch an
x86_64 one, a missing function and an asset with more than the bootstrap in it."""

import json
import subprocess
import sys
from pathlib import Path

CHECK = Path(__file__).with_name("check_assets.py")
FUNCTIONS = ["parse-event", "record", "evaluate", "claim", "enforce", "notify", "approve", "sweep", "health", "watch"]


def elf(machine: int) -> bytes:
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    header[18:20] = machine.to_bytes(2, "little")
    return bytes(header) + b"\0" * 1000


def assembly(tmp: Path, machines: dict[str, int], extra_file: str | None = None) -> Path:
    resources = {}
    for i, (name, machine) in enumerate(machines.items()):
        asset = tmp / f"asset.{i:04x}"
        asset.mkdir()
        (asset / "bootstrap").write_bytes(elf(machine))
        if extra_file and name == "evaluate":
            (asset / extra_file).write_text("x")
        resources[f"Fn{i}"] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Description": f"Model Guard {name}",
                "Architectures": ["arm64"],
                "Code": {"S3Key": f"{i:04x}.zip"},
            },
        }
    (tmp / "S.template.json").write_text(json.dumps({"Resources": resources}))
    (tmp / "manifest.json").write_text(json.dumps({"artifacts": {"S": {
        "type": "aws:cloudformation:stack", "properties": {"templateFile": "S.template.json"}}}}))
    return tmp


def run(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, CHECK, path], capture_output=True, text=True)


def test_aarch64_bootstraps_pass_and_sizes_are_written(tmp_path):
    result = run(assembly(tmp_path, {f: 183 for f in FUNCTIONS}))
    assert result.returncode == 0, result.stderr
    sizes = json.loads((tmp_path / "asset-sizes.json").read_text())
    assert sorted(sizes) == sorted(FUNCTIONS)
    assert all(s["bytes"] == 1064 and 0 < s["zipped_bytes"] < 1064 for s in sizes.values())


def test_an_x86_64_bootstrap_fails(tmp_path):
    result = run(assembly(tmp_path, {**{f: 183 for f in FUNCTIONS}, "enforce": 62}))
    assert result.returncode == 1
    assert "enforce: bootstrap is not an aarch64 ELF64 (e_machine 62)" in result.stderr


def test_a_missing_function_fails(tmp_path):
    result = run(assembly(tmp_path, {f: 183 for f in FUNCTIONS if f != "notify"}))
    assert result.returncode == 1
    assert "no asset for ['notify']" in result.stderr


def test_an_asset_with_more_than_the_bootstrap_fails(tmp_path):
    result = run(assembly(tmp_path, {f: 183 for f in FUNCTIONS}, extra_file="Cargo.toml"))
    assert result.returncode == 1
    assert "holds ['Cargo.toml', 'bootstrap'], not one bootstrap" in result.stderr
