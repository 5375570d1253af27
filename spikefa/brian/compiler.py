"""The C++ compiler behind Brian2's compiled targets (cython, cpp_standalone): whether there is one, and
the optimisation level it compiles at.

``SPIKEFA_OPT_LEVEL`` (0, 1, 2 or 3; unset: Brian2's own flags, ``-O3``) sets gcc's or clang's ``-O``
for the code Brian2 compiles. Level 0 compiles a circuit's Cython modules about a third faster and
runs them slower: worth it for short runs of circuits whose structure keeps changing (and for the
test suite, which builds hundreds of structures once each); a long run wants Brian2's ``-O3``. The
numbers may differ in the last bits between levels (``-ffast-math`` reorders arithmetic only when
optimising), so a run's summary records the level. Brian2's Cython cache names a module by its code,
not its flags, so each level compiles into a cache folder of its own
(``~/.cython/brian_extensions-O0``); compiled projects (:mod:`.compiled_cache`) are keyed by their
makefile, which carries the flags.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sysconfig

from brian2 import prefs
from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

from ..errors import SpikefaError

ENV = "SPIKEFA_OPT_LEVEL"
LEVELS = ("0", "1", "2", "3")
FLAG = re.compile(r"-O(\d|s|z|g|fast)?$")
SUFFIX = re.compile(r"-O\d$")  # a cache folder's level


def require_compiler(target: str) -> None:
    """One line, before anything is built, where ``target`` compiles C++ and this machine has no
    compiler: the one ``$CXX`` names, else Python's own (``sysconfig``), else ``c++``."""
    command = os.environ.get("CXX") or sysconfig.get_config_var("CXX") or "c++"
    program = shlex.split(command)[0] if command.strip() else "c++"
    if shutil.which(program) is None:
        raise SpikefaError(
            f"brian.target: {target} compiles C++ and no C++ compiler was found ({program!r}, from "
            f"{'$CXX' if os.environ.get('CXX') else 'Python'}); install g++ or clang++ (conda: conda install -c "
            "conda-forge cxx-compiler) or use target: numpy"
        )


def opt_level() -> int | None:
    """The level ``SPIKEFA_OPT_LEVEL`` asks for; None where it is unset (Brian2's own flags)."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return None
    if text not in LEVELS:
        raise SpikefaError(f"{ENV}: {text!r} is not an optimisation level; allowed: {', '.join(LEVELS)} (unset: -O3)")
    return int(text)


def apply_opt_level() -> int | None:
    """Compile at ``SPIKEFA_OPT_LEVEL``: its ``-O`` in Brian2's compiler flags (the user's own
    ``codegen.cpp.extra_compile_args`` where set, else the gcc/clang ones) and a Cython cache folder of
    its own. Nothing changes where it is unset. Returns the level."""
    level = opt_level()
    if level is None:
        return None
    name = "codegen.cpp.extra_compile_args"
    if prefs[name] is None:
        name += "_gcc"
    flags = [f for f in prefs[name] if not FLAG.match(f)]
    prefs[name] = [*flags, f"-O{level}"]
    prefs["codegen.runtime.cython.cache_dir"] = f"{SUFFIX.sub('', get_cython_cache_dir())}-O{level}"
    return level
