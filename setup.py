"""Package list for setuptools: the top-level static/ folder is installed as app/ui/static."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["app*", "worker*", "migrations*"]), "app.ui.static"],
    package_dir={"app.ui.static": "static"},
)
