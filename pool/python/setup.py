"""Builds safepool (the C layer over libsafepool's sources, plus the Python
package) with setuptools alone: `pip install --no-build-isolation pool/python`
needs nothing from PyPI (Debian: python3-setuptools, python3-dev)."""
import glob
import os

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
POOL = os.path.dirname(HERE)

# Absolute paths: libsafepool's sources live beside this directory, and
# setuptools keeps each object under its build directory that way.
sources = [os.path.join(HERE, "_safepool.c")] + sorted(glob.glob(os.path.join(POOL, "src", "*.c")))

setup(
	name="safepool",
	version="0.1.0",
	description="A process pool with multiprocessing.Pool's API that survives killed workers",
	license="MIT",
	packages=["safepool"],
	ext_modules=[Extension(
		"safepool._safepool", sources,
		include_dirs=[os.path.join(POOL, "include")],
		define_macros=[("_GNU_SOURCE", None)],
		extra_compile_args=["-std=c11", "-fvisibility=hidden"])],
	python_requires=">=3.9",
)
