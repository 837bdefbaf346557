"""Version rules: dpkg proven equal to python-debian by property tests; known orderings."""

from __future__ import annotations

import pytest
from debian.debian_support import Version as DebianReference
from hypothesis import given, settings
from hypothesis import strategies as st

from hullcheck.vulndb import versions

_UPSTREAM = st.from_regex(r"[0-9][0-9a-z.+~]{0,8}", fullmatch=True)
_REVISION = st.from_regex(r"[0-9a-z+.~]{1,6}", fullmatch=True)


@st.composite
def dpkg_versions(draw: st.DrawFn) -> str:
    epoch = draw(st.sampled_from(["", "1:", "2:"]))
    upstream = draw(_UPSTREAM)
    revision = draw(st.one_of(st.just(""), _REVISION.map(lambda r: f"-{r}")))
    return f"{epoch}{upstream}{revision}"


@settings(max_examples=600, deadline=None)
@given(dpkg_versions(), dpkg_versions())
def test_dpkg_order_equals_python_debian(left: str, right: str) -> None:
    expected = (DebianReference(left) > DebianReference(right)) - (
        DebianReference(left) < DebianReference(right)
    )
    assert versions.compare("deb", left, right) == expected


@pytest.mark.parametrize(
    ("scheme", "lower", "higher"),
    [
        # from the real records used in the tests
        ("deb", "4.2+dfsg-0.1", "4.2+dfsg-0.1+deb7u1"),
        ("deb", "4.3-7ubuntu1", "4.3-7ubuntu1.1"),
        ("deb", "1.16.0-1ubuntu1.1~18.04.4", "1.16.0-1ubuntu1.1"),
        ("deb", "1:9.0-1", "2:8.39-9"),  # the epoch wins
        ("deb", "6.0-3", "6.0-3+b2"),
        ("apk", "1.2.4-r0", "1.2.4-r3"),
        ("apk", "1.2.3-r4", "1.2.4-r0"),
        ("apk", "1.2.4_rc1-r0", "1.2.4-r0"),
        ("rpm", "2.8.5-11.module_el8.3.0+2053+3ddf2832", "2.8.5-11.module_el8.4.0+2249+3ddf2832"),
        ("rpm", "1:3.0.7-27.el9", "1:3.0.7-28.el9_4"),
        ("rpm", "9:1.0-1", "10:0.1-1"),
        ("pep440", "2.0.7", "2.0.10"),
        ("pep440", "5.2b1", "5.2"),
        ("semver", "5.0.0-alpha.1", "5.0.0-beta.3"),
        ("semver", "v0.9.1-0.20170424173420-06e7a29f36a3", "0.9.1"),
        ("maven", "2.9.10.1", "2.10"),
    ],
)
def test_known_orderings(scheme: str, lower: str, higher: str) -> None:
    assert versions.compare(scheme, lower, higher) == -1
    assert versions.compare(scheme, higher, lower) == 1
    assert versions.compare(scheme, lower, lower) == 0


@pytest.mark.parametrize(
    ("scheme", "text"), [("pep440", "0.2.0-n653"), ("pep440", "2019-09-12"), ("semver", "one.two")]
)
def test_invalid_versions_are_refused(scheme: str, text: str) -> None:
    with pytest.raises(versions.InvalidVersion, match=scheme):
        versions.parse(scheme, text)


@settings(max_examples=600, deadline=None)
@given(dpkg_versions(), dpkg_versions())
def test_dpkg_text_key_orders_as_python_debian(left: str, right: str) -> None:
    """The database-side key sorts (as bytes) exactly as dpkg orders the versions."""
    a, b = versions.text_key("deb", left), versions.text_key("deb", right)
    assert a is not None and b is not None
    expected = (DebianReference(left) > DebianReference(right)) - (
        DebianReference(left) < DebianReference(right)
    )
    assert (a > b) - (a < b) == expected
