import pytest

from ganforge.errors import ConfigError
from ganforge.losses import LOSSES
from ganforge.models import ARCHITECTURES
from ganforge.registry import Registry


def test_unknown_name_lists_the_choices():
    registry: Registry[int] = Registry("widget")
    registry.register("b")(2)
    registry.register("a")(1)
    assert registry.names() == ["a", "b"] and registry.get("a") == 1 and "b" in registry
    with pytest.raises(ConfigError, match="unknown widget 'c'; choose one of: a, b"):
        registry.get("c")


def test_double_registration_is_a_bug():
    registry: Registry[int] = Registry("widget")
    registry.register("a")(1)
    with pytest.raises(ValueError):
        registry.register("a")(2)


def test_builtin_registries():
    assert set(LOSSES) == {"nonsaturating", "minimax", "hinge", "least-squares", "relativistic", "wasserstein"}
    assert "dcgan" in ARCHITECTURES
