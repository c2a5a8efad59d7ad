#!/bin/sh
# Prints the path of a Python >= 3.12: first on PATH, then under pyenv, then common prefixes.
for candidate in python3.14 python3.13 python3.12 python3 \
    "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /root/.pyenv/versions/3.1[2-9]*/bin/python3 \
    /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
echo "no Python >= 3.12 found: install one (e.g. 'apt-get install python3.12' or pyenv) and retry" >&2
exit 1
