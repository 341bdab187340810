"""The per-user cache folder named by the environment."""

from pathlib import Path

import pytest

from cifar_search.user_cache import cache_folder


@pytest.mark.parametrize("environ, expected", [
    ({"CIFAR_SEARCH_CACHE": "/c/mine", "XDG_CACHE_HOME": "/x"}, "/c/mine"),
    ({"CIFAR_SEARCH_CACHE": "", "XDG_CACHE_HOME": "/x"}, "/x/cifar_search"),
    ({"XDG_CACHE_HOME": "/x"}, "/x/cifar_search"),
    ({}, str(Path.home() / ".cache" / "cifar_search")),
])
def test_the_cache_folder_follows_the_environment(environ, expected):
    assert cache_folder(environ) == Path(expected)
