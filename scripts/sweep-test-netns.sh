#!/usr/bin/env bash
# Removes network namespaces left by test runs whose process is gone (prefix t<pid>-).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
  if [[ "$ns" =~ ^t([0-9]+)- ]]; then
    pid=${BASH_REMATCH[1]}
    if ! kill -0 "$pid" 2>/dev/null; then ip netns del "$ns" 2>/dev/null || true; fi
  fi
done
