"""The project's configuration: what `make run` and a fresh machine rely on."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_streamlit_reads_the_top_level_config():
    link = ROOT / ".streamlit" / "config.toml"
    assert link.resolve() == (ROOT / "streamlit_config.toml").resolve()
    config = tomllib.loads(link.read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["fileWatcherType"] == "none"
    assert config["client"]["showErrorDetails"] == "none"
    assert "primaryColor" in config["theme"]


def test_every_requirement_is_pinned_and_torch_is_the_cpu_release():
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9.]*", ln) for ln in lines), lines
    assert "torch==2.13.0" in lines
