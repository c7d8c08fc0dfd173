import pytest

from pixelgen.files.paths import (
    UnsafeValue,
    check_digest,
    check_relative_path,
    is_digest,
    portable_key,
    portable_name_problem,
)


@pytest.mark.parametrize("path", ["hero/default.png", "a/b/c.json", "x.png", "walker/walk-0.png"])
def test_relative_paths_inside_the_root_pass(path):
    assert check_relative_path(path, "output") == path


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", "C:/x", "c:x", "a\\b", "a/\x00", "a/\n",
                                  "..", ".", "x" * 2000, 5, None, ["a"]])
def test_escaping_or_odd_paths_are_refused(path):
    with pytest.raises(UnsafeValue):
        check_relative_path(path, "output")


def test_digests():
    assert is_digest("0" * 64) and check_digest("ab" * 32, "x") == "ab" * 32
    for bad in ("A" * 64, "0" * 63, "0" * 65, "g" * 64, "../" + "0" * 61, 12345, None):
        assert not is_digest(bad)
        with pytest.raises(UnsafeValue):
            check_digest(bad, "object")


@pytest.mark.parametrize("name", ["con", "CON", "nul.txt", "Com1", "lpt9.png", "aux.tar.gz", "prn"])
def test_reserved_names(name):
    assert "reserved" in portable_name_problem(name)


def test_trailing_dot_and_case():
    assert "drops" in portable_name_problem("hero.")
    assert portable_name_problem("hero") is None and portable_name_problem("console") is None
    assert portable_key("Hero.") == portable_key("hero") != portable_key("heros")
