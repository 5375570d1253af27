"""Learning rules by name. Each is a small object shared by both engines (see :mod:`.base`).

A circuit file names a built-in rule (``rule: kolen_pollack``) or a user's :class:`Rule` subclass,
``rule: {name: my_package.rules:MyRule}`` (an importable module) or ``rule: {name: my_rules.py:MyRule}``
(a file, relative to the circuit file), loaded without editing spikefa.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from .. import spec
from ..errors import CodeNotLoaded, SpikefaError
from ..weights import Structure
from ..yamlfile import cut
from .base import TOPOLOGIES, Params, Plasticity, Rule, Step
from .fixed import DirectFeedbackAlignment, FixedFeedback, LocalClassifiers, Shallow
from .learned import KolenPollack, WeightMirror
from .transport import Backprop, SignSymmetry

REGISTRY: dict[str, type[Rule]] = {
    cls.name: cls
    for cls in (
        Shallow,
        Backprop,
        FixedFeedback,
        DirectFeedbackAlignment,
        SignSymmetry,
        WeightMirror,
        KolenPollack,
        LocalClassifiers,
    )
}
assert tuple(sorted(REGISTRY)) == tuple(sorted(spec.RULES))


def rule_class(name: str, where: str = "rule.name", base: Path | None = None, load: bool = True) -> type[Rule]:
    """The class a rule name stands for: a built-in name, ``module:Class`` or ``file.py:Class`` (a
    relative file is looked for in ``base``, else the working folder). Raises :class:`SpikefaError`,
    naming ``where``, for anything that is not a usable :class:`Rule` subclass. ``load=False`` (reading
    a run folder's config, listing circuits) imports nothing: a user's rule is found only if this process
    has imported it already, else :class:`CodeNotLoaded`."""
    if ":" not in name:
        if name not in REGISTRY:
            raise SpikefaError(f"{where}: unknown rule {name!r}; allowed: {', '.join(REGISTRY)}, or module:Class")
        return REGISTRY[name]
    target, _, attr = name.rpartition(":")
    if not load:
        key = _module_key(_file(target, base)) if target.endswith(".py") else target
        if key not in sys.modules:
            raise CodeNotLoaded(
                f"{where}: {cut(name)} is a user's rule, and reading a circuit here never imports code; "
                "run the circuit (or spikefa.load_circuit its file) to import it"
            )
    try:
        module = _load_file(target, base, where) if target.endswith(".py") else importlib.import_module(target)
    except SpikefaError:
        raise
    except Exception as err:  # the user's module failed to import: one line, naming it
        raise SpikefaError(f"{where}: cannot import {target!r} ({type(err).__name__}: {err})") from err
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Rule)):
        raise SpikefaError(f"{where}: {attr!r} in {target!r} is not a spikefa.rules.Rule subclass")
    if getattr(cls, "topology", None) not in TOPOLOGIES:
        raise SpikefaError(f"{where}: {attr}.topology must be one of {', '.join(TOPOLOGIES)}")
    return cls


def _file(target: str, base: Path | None) -> Path:
    return ((base or Path.cwd()) / target).resolve()


def _module_key(path: Path) -> str:
    """The name a user's rule file is imported under (one module per file)."""
    return f"spikefa_user_rules_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"


def _load_file(target: str, base: Path | None, where: str):
    path = _file(target, base)
    if not path.is_file():
        raise SpikefaError(f"{where}: no such file {str(path)!r}")
    key = _module_key(path)
    if key not in sys.modules:
        found = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(found)
        sys.modules[key] = module
        try:
            found.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
    return sys.modules[key]


def make_rule(rule: spec.Rule, optimizer: spec.Optimizer, feedback: Structure | None = None) -> Rule:
    """The rule object named in a circuit's ``rule`` block, drawing B as ``feedback`` says."""
    return rule_class(rule.name)(rule, optimizer, feedback)


__all__ = ["REGISTRY", "Params", "Plasticity", "Rule", "Step", "make_rule", "rule_class"]
