#!/bin/sh
exec "${KVMQ_UNIT_DIR:-$(dirname "$0")/../../build/unit}/block" "$@"
