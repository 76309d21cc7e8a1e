#!/usr/bin/env bash
# Placeholder until the agent-CLI installer lands: does nothing.
exit 0
