"""The SMB bench's share: its files in folders of 100, the share of them given an ACL, and
the 1% picked for a change or a permission change, never the same file for both."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.smb import ACLS, acl_plan, file_names, pick, regranted, write_files
from tests.samba_server import HR, LEGAL


def test_the_files_are_in_folders_of_a_hundred_half_markdown() -> None:
    names = file_names(1000)
    assert len(set(names)) == 1000
    assert Counter(name.rsplit("/", 1)[0] for name in names) == Counter(
        {f"dept00/team{t}": 100 for t in range(10)}
    )
    assert sum(name.endswith(".md") for name in names) == 500


def test_a_quarter_of_the_files_get_each_kind_of_acl_in_turn() -> None:
    names = file_names(1000)
    plan = acl_plan(names, 0.25)
    assert len(plan) == 250 and set(plan) <= set(names)
    assert Counter(plan.values()) == Counter(dict.fromkeys(ACLS, 50))
    assert acl_plan(names, 0.25) == plan


def test_the_changed_and_the_regranted_files_differ_and_each_acl_changes() -> None:
    names = file_names(1000)
    changed = pick(names, 0.01, seed=1)
    regrants = pick(names, 0.01, seed=2, avoid=set(changed))
    assert len(changed) == len(regrants) == 10 and not set(changed) & set(regrants)
    assert len(pick(names[:10], 0.01, seed=1)) == 1
    plan = acl_plan(names, 0.25)
    for name in names:
        assert regranted(plan.get(name)) != plan.get(name)
    assert regranted(((LEGAL,), "")) == ((HR,), "")


def test_the_files_are_written_with_text_in_them(tmp_path: Path) -> None:
    names = file_names(20)
    written = write_files(tmp_path, names)
    sizes = [(tmp_path / name).stat().st_size for name in names]
    assert written == sum(sizes) and min(sizes) > 300
    assert (tmp_path / names[1]).read_text().startswith("# ")
