"""The directory bench's generated people and groups: the counts asked for, every group
with a member, the groups nested as a tree, and the LDIF that adds them."""

from __future__ import annotations

from bench.directory import group_cn, layout, ldif, parent_group, user_name
from tests import ldap_server


def test_the_layout_has_the_counts_asked_for_and_every_group_a_person() -> None:
    plan = layout(1000, 200, 10)
    assert plan.users == 1000 and len(plan.memberships) == 1000
    assert len(plan.disabled) == 10 and len(plan.enabled()) == 990
    held = {g for groups in plan.memberships.values() for g in groups}
    assert held == set(range(200))
    assert all(1 <= len(groups) <= 3 for groups in plan.memberships.values())
    assert layout(1000, 200, 10) == plan  # the same directory every run


def test_groups_nest_as_a_tree_five_levels_deep() -> None:
    def depth(g: int) -> int:
        parent = parent_group(g)
        return 1 if parent is None else 1 + depth(parent)

    assert parent_group(0) is None and parent_group(1) == parent_group(5) == 0
    assert parent_group(6) == 1
    assert max(depth(g) for g in range(200)) == 5
    plan = layout(1000, 200, 10)
    person = next(n for n, groups in plan.memberships.items() if groups == (199,))
    assert plan.nested_groups(person) == {group_cn(g) for g in (199, 39, 7, 1, 0)}


def test_the_ldif_adds_each_person_and_group_once_with_their_members() -> None:
    plan = layout(50, 10, 3)
    text = ldif(plan)
    entries = text.split("\n\n")
    assert len(entries) == 60
    assert all("\nchangetype: add\n" in entry for entry in entries)
    assert text.count("employeeType: disabled") == 3
    assert text.count("objectClass: groupOfNames") == 10
    root = next(e for e in entries if e.startswith(f"dn: {ldap_server.group(group_cn(0))}\n"))
    assert f"member: {ldap_server.group(group_cn(1))}\n" in root
    assert f"member: {ldap_server.person(user_name(0))}\n" in root
    assert all("member: " in e for e in entries if "groupOfNames" in e)
