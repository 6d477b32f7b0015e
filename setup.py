"""Builds the bert_emotion extension with the project's CMake (see pyproject.toml, docs/PYTHON.md).

The module is CMake's `_core` target, configured for the interpreter running this build
(Python_EXECUTABLE = sys.executable), without tests or benchmarks. CMAKE_ARGS adds CMake options
(e.g. CMAKE_ARGS="-DBERT_EMOTION_NATIVE=OFF" for a wheel that runs on other CPUs).
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        # A fixed folder beside the sources (ignored by git): rebuilds are incremental, and ccache
        # (CCACHE_BASEDIR) sees the same relative paths as the build/ tree.
        build_dir = Path(os.environ.get("BERT_EMOTION_PY_BUILD_DIR", ROOT / "build-python")).resolve()
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython_EXECUTABLE={sys.executable}",
            "-DBERT_EMOTION_PYTHON=ON",
            "-DBERT_EMOTION_TESTS=OFF",
            "-DBERT_EMOTION_BENCH=OFF",
        ]
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        configure += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_core", "-j", jobs], check=True)
        built = next((build_dir / "python" / "bert_emotion").glob("_core*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(ext_modules=[CMakeExtension("bert_emotion._core")], cmdclass={"build_ext": CMakeBuild})
