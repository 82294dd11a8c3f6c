"""Builds the extension rankwrap._rankwrap with CMake (see pyproject.toml).

`pip install --no-build-isolation .` configures a CMake tree under
setuptools' build_temp for the interpreter running pip and builds only the
target rankwrap_python. RANKWRAP_CMAKE_BUILD_DIR names an already configured
tree to build in instead (what the tests do, to reuse their build).
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def project_version():
    """The version in CMakeLists.txt's project() call: one place for it."""
    text = (ROOT / "CMakeLists.txt").read_text()
    match = re.search(r"project\(rankwrap\s+VERSION\s+([0-9.]+)", text)
    if not match:
        sys.exit("setup.py: no 'project(rankwrap VERSION X.Y.Z' in CMakeLists.txt")
    return match.group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("RANKWRAP_CMAKE_BUILD_DIR")
        if not build_dir:
            build_dir = os.path.join(os.path.abspath(self.build_temp), "cmake")
            subprocess.run(
                ["cmake", "-S", str(ROOT), "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                 "-DRANKWRAP_BUILD_TESTS=OFF", "-DRANKWRAP_BUILD_BENCH=OFF",
                 f"-DRANKWRAP_PYTHON={sys.executable}"],
                check=True)
        elif not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            sys.exit(f"setup.py: RANKWRAP_CMAKE_BUILD_DIR={build_dir} is not a configured CMake tree "
                     "(no CMakeCache.txt); unset it, or configure it with cmake -S . -B DIR first")
        subprocess.run(["cmake", "--build", build_dir, "--target", "rankwrap_python", "-j", str(os.cpu_count() or 1)],
                       check=True)
        built = sorted(pathlib.Path(build_dir, "bindings", "python", "rankwrap").glob("_rankwrap*.so"))
        if len(built) != 1:
            sys.exit(f"setup.py: expected one _rankwrap*.so in {build_dir}/bindings/python/rankwrap, found {built}; "
                     "is pybind11-dev installed (the CMake output says 'Python module: skipped' otherwise)?")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    version=project_version(),
    ext_modules=[Extension("rankwrap._rankwrap", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # Not "build": that is where the CMake build tree usually is.
    options={"build": {"build_base": "build-python"}},
)
