from tas_common.migrations import run_env

from notify.domain.models import metadata

run_env(metadata)
