"""Workspaces (toolkit.paths, toolkit init) and the toolkit as a normal package (a wheel used elsewhere)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from toolkit.config import inside_root, resolve_config
from toolkit.contracts import load_contracts
from toolkit.errors import ConfigError, ToolkitError
from toolkit.paths import (
    MARKER,
    SHIPPED_CONFIGS,
    SHIPPED_CONTRACTS,
    contract_files,
    current_workspace,
    default_tracking_uri,
    workspace,
)
from toolkit.workspace import init_workspace

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def clean_env(monkeypatch):
    """No workspace or store named by the environment: only the current folder decides."""
    monkeypatch.delenv("TOOLKIT_ROOT", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return monkeypatch


def _cli(*args, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m toolkit`` of this checkout, run from ``cwd`` (outside the repository)."""
    e = {k: v for k, v in os.environ.items() if k not in ("TOOLKIT_ROOT", "MLFLOW_TRACKING_URI")}
    e["PYTHONPATH"] = str(REPO)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *map(str, args)],
        cwd=cwd,
        env=e,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_repository_is_a_workspace_and_its_folders_link_to_the_shipped_ones():
    assert (REPO / MARKER).is_file()
    for name, shipped in (("configs", SHIPPED_CONFIGS), ("data_contracts", SHIPPED_CONTRACTS)):
        assert (REPO / name).is_symlink() and (REPO / name).resolve() == shipped.resolve()
        listed = subprocess.run(["git", "ls-files", "-s", name], cwd=REPO, capture_output=True, text=True)
        assert listed.stdout.startswith("120000 "), f"git must store {name} as a symlink: {listed.stdout!r}"


def test_a_workspace_is_found_from_a_nested_subfolder(tmp_path, clean_env):
    ws, _ = init_workspace(tmp_path / "ws")
    nested = ws / "a" / "b" / "c"
    nested.mkdir(parents=True)
    clean_env.chdir(nested)
    found = current_workspace()
    assert (found.root, found.found_by) == (ws, "toolkit.yaml")
    assert workspace() == ws
    assert default_tracking_uri() == f"sqlite:///{ws / 'mlruns' / 'mlflow.db'}"
    # decided at call time: another folder, another workspace
    other, _ = init_workspace(tmp_path / "other")
    clean_env.chdir(other)
    assert workspace() == other


def test_shipped_configs_and_contracts_are_used_when_the_workspace_has_none(tmp_path, clean_env):
    ws, _ = init_workspace(tmp_path / "ws")
    clean_env.chdir(ws)
    assert resolve_config("demo", "releases") == SHIPPED_CONFIGS / "releases" / "demo.yaml"
    files = contract_files()
    assert files and all(p.parent == SHIPPED_CONTRACTS for p in files)
    assert {p.name for p in files} == {p.name for p in SHIPPED_CONTRACTS.glob("*.yaml")}
    assert all(c.source.startswith(str(SHIPPED_CONTRACTS)) for c in load_contracts().values())


def test_a_workspace_file_overrides_the_shipped_one_of_the_same_name(tmp_path, clean_env):
    from toolkit.expected.spec import load_model_set
    from toolkit.release.config import load_release_config

    ws, _ = init_workspace(tmp_path / "ws")
    clean_env.chdir(ws)
    raw = yaml.safe_load((SHIPPED_CONFIGS / "releases" / "demo.yaml").read_text())
    (ws / "configs" / "releases").mkdir()
    (ws / "configs" / "releases" / "demo.yaml").write_text(yaml.safe_dump({**raw, "name": "my-demo"}))
    config, path = load_release_config("demo")
    assert (config.name, path) == ("my-demo", ws / "configs" / "releases" / "demo.yaml")
    # a model set is a folder: the workspace's replaces the shipped one as a whole
    own = ws / "configs" / "models" / "des_2018"
    shutil.copytree(SHIPPED_CONFIGS / "models" / "des_2018", own)
    for p in own.glob("[!_]*.yaml"):
        if p.name != "dms_full_13.yaml":
            p.unlink()
    assert sorted(load_model_set("des_2018")) == ["dms_full_13"]
    # contracts: file by file, the others still shipped
    participants = yaml.safe_load((SHIPPED_CONTRACTS / "participants.yaml").read_text())
    participants["description"] = "our own reading"
    (ws / "data_contracts" / "participants.yaml").write_text(yaml.safe_dump(participants))
    contracts = load_contracts()
    assert contracts["participants"].source == str(ws / "data_contracts" / "participants.yaml")
    assert contracts["sites"].source == str(SHIPPED_CONTRACTS / "sites.yaml")
    (ws / "data_contracts" / "events").mkdir()
    phases = (SHIPPED_CONTRACTS / "events" / "phases.yaml").read_text()
    (ws / "data_contracts" / "events" / "phases.yaml").write_text(phases)
    assert ws / "data_contracts" / "events" / "phases.yaml" in contract_files("events")
    assert len(contract_files("events")) == len(list((SHIPPED_CONTRACTS / "events").glob("*.yaml")))


def test_a_config_may_name_paths_in_the_workspace_or_the_shipped_data_only(tmp_path, clean_env):
    ws, _ = init_workspace(tmp_path / "ws")
    clean_env.chdir(ws)
    assert inside_root("releases", "output_root", "c.yaml") == ws / "releases"
    assert inside_root(SHIPPED_CONFIGS / "methods" / "des_2018.yaml", "method", "c.yaml").is_file()
    with pytest.raises(ConfigError, match=r"output_root names .* outside the workspace"):
        inside_root("../elsewhere", "output_root", "c.yaml")


def test_toolkit_root_overrides_the_folder_lookup(tmp_path, clean_env):
    here, _ = init_workspace(tmp_path / "here")
    there = tmp_path / "there"
    there.mkdir()
    clean_env.chdir(here)
    clean_env.setenv("TOOLKIT_ROOT", str(there))
    found = current_workspace()
    assert (found.root, found.found_by) == (there, "TOOLKIT_ROOT")
    assert default_tracking_uri() == f"sqlite:///{there / 'mlruns' / 'mlflow.db'}"
    clean_env.setenv("TOOLKIT_ROOT", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="TOOLKIT_ROOT"):
        workspace()
    r = _cli("doctor", cwd=here, env={"TOOLKIT_ROOT": str(there)})
    assert r.returncode == 0, r.stderr
    assert f"[toolkit doctor] workspace {there} ($TOOLKIT_ROOT); store sqlite:///{there}/mlruns/mlflow.db" in r.stderr
    assert (there / "mlruns" / "mlflow.db").is_file() and not (here / "mlruns" / "mlflow.db").exists()


def test_the_marker_may_name_a_store_and_a_bad_marker_is_a_clear_error(tmp_path, clean_env):
    ws, _ = init_workspace(tmp_path / "ws")
    clean_env.chdir(ws)
    (ws / MARKER).write_text("workspace: 1\ntracking_uri: sqlite:///store/x.db\n")
    assert default_tracking_uri() == f"sqlite:///{ws / 'store' / 'x.db'}"
    (ws / MARKER).write_text("workspace: 1\ntracking_uri: http://example.org:5000\n")
    assert default_tracking_uri() == "http://example.org:5000"
    clean_env.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere.db")
    assert default_tracking_uri() == "sqlite:////elsewhere.db"
    (ws / MARKER).write_text("workspace: 2\n")
    with pytest.raises(ConfigError, match="'workspace' must be 1"):
        workspace()
    (ws / MARKER).write_text("workspace: 1\ntracking_url: x\n")
    r = _cli("doctor", cwd=ws)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "unknown key(s) tracking_url" in r.stderr


def test_without_a_workspace_the_current_folder_is_used_and_said(tmp_path, clean_env):
    bare = tmp_path / "bare"
    bare.mkdir()
    clean_env.chdir(bare)
    found = current_workspace()
    assert (found.root, found.found_by) == (bare, "none")
    assert default_tracking_uri() == f"sqlite:///{bare / 'mlruns' / 'mlflow.db'}"
    r = _cli("doctor", cwd=bare)
    assert r.returncode == 0, r.stderr
    line = r.stderr.splitlines()[0]
    assert line.startswith(f"[toolkit doctor] workspace {bare} (no toolkit.yaml here or above: the current folder)")
    assert f"store sqlite:///{bare}/mlruns/mlflow.db" in line
    assert (bare / "mlruns" / "mlflow.db").is_file()


def test_init_creates_the_layout_and_keeps_a_workspace_as_it_is(tmp_path):
    r = _cli("init", "ws", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ws = tmp_path / "ws"
    for name in (MARKER, ".gitignore", "configs/README.md", "data_contracts/README.md"):
        assert (ws / name).is_file(), name
    assert (ws / "mlruns").is_dir() and (ws / "releases").is_dir()
    assert yaml.safe_load((ws / MARKER).read_text()) == {"workspace": 1}
    assert "same relative name" in (ws / "configs" / "README.md").read_text()
    ignored = (ws / ".gitignore").read_text().split()
    assert {"mlruns/", "releases/", "out/", "worlds/", "comparisons/"} <= set(ignored)
    assert not list((ws / "configs").glob("*.yaml")) and not list((ws / "data_contracts").glob("*.yaml"))
    (ws / "configs" / "mine.yaml").write_text("x: 1\n")
    again = _cli("init", str(ws), cwd=tmp_path)
    assert again.returncode == 0 and "already a workspace" in again.stdout
    assert (ws / "configs" / "mine.yaml").read_text() == "x: 1\n"


def test_init_refuses_a_folder_of_other_files_and_a_file(tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    r = _cli("init", busy, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "not empty and not a workspace" in r.stderr
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    r = _cli("init", busy / "notes.txt", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "is a file" in r.stderr
    with pytest.raises(ToolkitError):
        init_workspace(busy)


def test_init_copy_defaults_copies_every_shipped_file(tmp_path):
    ws, _ = init_workspace(tmp_path / "ws", copy_defaults=True)
    for kind, shipped in (("configs", SHIPPED_CONFIGS), ("data_contracts", SHIPPED_CONTRACTS)):
        want = {p.relative_to(shipped) for p in shipped.rglob("*.yaml")}
        got = {p.relative_to(ws / kind) for p in (ws / kind).rglob("*.yaml")}
        assert want == got and want


# ---------------------------------------------------------------------------------------------- the wheel


def _snapshot(d: Path) -> dict[str, int]:
    return {
        str(p.relative_to(d)): p.stat().st_mtime_ns
        for p in d.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_runs_the_demo_in_a_workspace(tmp_path):
    """Build a wheel from this checkout, install it in a new venv (dependencies seen through a .pth that
    names this interpreter's site-packages, whose editable toolkit is not activated there), and run
    ``toolkit init``, ``demo``, ``validate`` and ``synth`` from a folder outside the repository."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(REPO / "toolkit", src / "toolkit", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(tmp_path / "wheel")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "wheel").glob("toolkit-*.whl")
    print(f"wheel {wheel.name}: {wheel.stat().st_size / 1000:.0f} kB")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "toolkit/shipped/configs/releases/demo.yaml" in names
    assert "toolkit/shipped/data_contracts/participants.yaml" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "toolkit-test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    inst = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert inst.returncode == 0, inst.stderr[-3000:]
    installed = site / "toolkit"
    before = _snapshot(installed)
    assert "shipped/configs/releases/demo.yaml" in before

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("TOOLKIT_ROOT", "MLFLOW_TRACKING_URI", "PYTHONPATH")}
    tk = venv / "bin" / "toolkit"

    def run(*args, cwd):
        return subprocess.run([tk, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)

    where = subprocess.run(
        [py, "-c", "import toolkit; print(toolkit.__file__)"], cwd=outside, env=env, capture_output=True, text=True
    )
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr
    assert run("init", "ws", cwd=outside).returncode == 0
    ws = outside / "ws"
    demo = run("demo", "--scale", "tiny", cwd=ws)
    assert demo.returncode == 0, demo.stderr[-4000:] + demo.stdout
    assert f"[toolkit demo] workspace {ws} (toolkit.yaml); store sqlite:///{ws}/mlruns/mlflow.db" in demo.stderr
    (folder,) = (ws / "releases").glob("demo-*")
    assert (folder / "ratings.csv").is_file() and "status:        passed" in demo.stdout
    assert (ws / "mlruns" / "mlflow.db").is_file()
    assert (ws / "worlds" / "demo-tiny-seed2020").is_dir()
    # the shipped contracts, by a relative name, from a subfolder of the workspace
    sub = ws / "sub"
    sub.mkdir()
    val = run("validate", ws / "worlds" / "demo-tiny-seed2020", cwd=sub)
    assert val.returncode == 0, val.stderr + val.stdout
    syn = run("synth", "--scale", "tiny", "--seed", "3", "--no-oracle", "--out", "tiny", cwd=sub)
    assert syn.returncode == 0, syn.stderr[-3000:]
    assert (sub / "tiny" / "participants.parquet").is_file()
    assert _snapshot(installed) == before, "a command wrote into the installed package"
    assert not (site / "mlruns").exists() and not (site / "releases").exists()
