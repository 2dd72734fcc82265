"""Moved to `tas_dev.testing` (libs/dev: dev tooling is not runtime code). This alias keeps the imports of
branches written before the move working until they land; new code imports `tas_dev.testing`. Production images
do not install tas-dev, so importing this there fails, as it should."""

from tas_dev.testing import *  # noqa: F403
